import { randomBytes } from "node:crypto";
import { TOKEN_PREFIX } from "../token/token.js";

/** A well-formed psc_v1 token that no gateway knows (256 random bits). */
export const randomToken = (): string => TOKEN_PREFIX + randomBytes(32).toString("hex");

/**
 * The tokens of a junk flood: well-formed and unknown, so a gateway must look each distinct one
 * up in its store before refusing it. With `distinct` 0 every call gets a fresh token; otherwise
 * calls draw at random from that many, so tokens repeat (and exercise the negative cache).
 */
export class JunkTokens {
  private readonly pool: string[];
  private readonly used = new Set<number>();
  private fresh = 0;

  constructor(
    distinct: number,
    private readonly random: () => number = Math.random,
  ) {
    this.pool = Array.from({ length: distinct }, randomToken);
  }

  next(): string {
    if (this.pool.length === 0) {
      this.fresh++;
      return randomToken();
    }
    const index = Math.floor(this.random() * this.pool.length);
    this.used.add(index);
    return this.pool[index]!;
  }

  /** How many distinct tokens were handed out. */
  get distinctUsed(): number {
    return this.pool.length === 0 ? this.fresh : this.used.size;
  }
}
