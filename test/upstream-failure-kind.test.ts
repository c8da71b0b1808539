// What an attempt's failure is called: a request undici refuses to send is the gateway's own
// failure ("unsendable"), never reported as the upstream resetting the connection.
import assert from 'node:assert/strict';
import { Client, type Dispatcher } from 'undici';
import { classifyUpstreamError } from '../gateway/runtime/forward';

/** The error undici gives for a request it will not put on the wire (no connection is opened). */
function refusedByUndici(opts: Partial<Dispatcher.DispatchOptions>): Promise<Error & { code?: string }> {
  const client = new Client('http://127.0.0.1:1');
  return new Promise((resolve) => {
    client.dispatch({ path: '/', method: 'GET', ...opts }, {
      onResponseError: (_c, err) => resolve(err),
      onRequestStart: () => undefined,
    });
  }).finally(() => client.destroy()) as Promise<Error & { code?: string }>;
}

describe('upstream failure kinds', () => {
  it('calls a request undici refuses to send unsendable, not reset', async () => {
    const err = await refusedByUndici({ path: '?x=1' });
    assert.equal(classifyUpstreamError(err).kind, 'unsendable');
  });

  it('keeps refused and reset for what the upstream did', () => {
    assert.equal(classifyUpstreamError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })).kind, 'refused');
    assert.equal(classifyUpstreamError(Object.assign(new Error('x'), { code: 'ECONNRESET' })).kind, 'reset');
  });
});
