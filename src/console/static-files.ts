import { readdir, readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join, relative, sep } from "node:path";

const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

interface StaticFile {
  body: Buffer;
  type: string;
}

/** The console's front-end, read once into memory: URL path -> file. */
export type StaticFiles = ReadonlyMap<string, StaticFile>;

/**
 * Reads the front-end files under `dir` (HTML, JS, CSS, SVG; source maps and anything else are
 * left out). Only these paths are ever served, so no request path reaches the file system. A
 * missing directory gives no files: the API still works.
 */
export async function loadStaticFiles(dir: string): Promise<StaticFiles> {
  const files = new Map<string, StaticFile>();
  const names = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  for (const name of names) {
    const type = TYPES[extname(name)];
    if (!type) continue;
    const path = join(dir, name);
    const urlPath = `/${relative(dir, path).split(sep).join("/")}`;
    files.set(urlPath, { body: await readFile(path), type });
  }
  const index = files.get("/index.html");
  if (index) files.set("/", index);
  return files;
}

/** Answers GET/HEAD for a known file; 404 and 405 otherwise. */
export function serveStatic(files: StaticFiles, req: IncomingMessage, res: ServerResponse): void {
  const path = new URL(req.url ?? "/", "http://console.invalid").pathname;
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" });
    res.end("method not allowed\n");
    return;
  }
  const file = files.get(path);
  if (!file) {
    const built = files.size > 0 ? "" : " (the console's front-end is not built: run npm run build)";
    res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
    res.end(`not found${built}\n`);
    return;
  }
  // Small files, revalidated on every load so that an upgrade is picked up at once.
  res.writeHead(200, {
    "content-type": file.type,
    "content-length": file.body.length,
    "cache-control": "no-cache",
  });
  res.end(req.method === "HEAD" ? undefined : file.body);
}
