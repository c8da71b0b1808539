// Redis URLs as `--state`, STRANGLER_REDIS_URL and gateway.state spell them.

export function isRedisUrl(text: string): boolean {
  return /^rediss?:\/\//i.test(text);
}

/** For logs, errors and the admin API: the URL with any password replaced. */
export function describeRedisUrl(text: string): string {
  return text.replace(/^(rediss?:\/\/)([^@/]*)@/i, (_m, scheme: string, cred: string) => `${scheme}${cred.includes(':') ? `${cred.split(':')[0]}:***` : '***'}@`);
}
