import { formatHostPort, type HostPort } from "../config/flag-spec.js";

/**
 * Starts a listener for `flag`, turning the errors of an address that cannot be bound into a
 * sentence naming the flag and what to do: `--admin-address 127.0.0.1:7073 is in use; pass
 * another address or stop the other process`.
 */
export async function listenAs<T>(flag: string, address: HostPort, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const where = `--${flag} ${formatHostPort(address)}`;
    if (code === "EADDRINUSE")
      throw new Error(`${where} is in use; pass another address or stop the other process.`);
    if (code === "EACCES") throw new Error(`${where} may not be bound by this user; pass a port above 1023.`);
    if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND")
      throw new Error(`${where} is not an address of this machine; pass one that is, or 0.0.0.0.`);
    throw error;
  }
}
