// The price of an article, as the monolith quotes it and as the price-quote function (its
// rewrite) does: the same answer but for one field, `vat_included`, which the rewrite gets wrong.
// The demo shadows the route, so `strangler diff prices` shows that field, and only that field
// (quoted_at differs on every answer and the manifest ignores it).

/** A stable price per article: a small sum of its characters, in øre. */
function amountOf(sku: string): number {
  let n = 0;
  for (const ch of sku) n = (n * 31 + ch.charCodeAt(0)) % 100_000;
  return 1_000 + n;
}

export function priceQuote(sku: string, side: 'legacy' | 'function'): Record<string, unknown> {
  return {
    sku,
    price: { amount: amountOf(sku), currency: 'NOK' },
    vat_included: side === 'legacy',
    quoted_at: new Date().toISOString(),
  };
}

/** `/api/v1/prices/SKU` (legacy) or the function's remainder `/SKU`: the article number, or null. */
export function skuOf(path: string): string | null {
  const m = /^(?:\/api\/v1\/prices)?\/([A-Za-z0-9_-]{1,64})$/.exec(path);
  return m ? m[1] : null;
}
