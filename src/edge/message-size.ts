/** The bytes of a received message as the wire carried them: a raw Buffer, or a decoded one's `raw`; else 0. */
export function receivedBytes(message: unknown): number {
  if (Buffer.isBuffer(message)) return message.length;
  const raw = (message as { raw?: unknown } | null)?.raw;
  return Buffer.isBuffer(raw) ? raw.length : 0;
}
