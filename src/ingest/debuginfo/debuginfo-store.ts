import { randomUUID } from "node:crypto";
import { open, readdir, rename, rm, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { alreadyExists, DomainError, failedPrecondition, notFound } from "../../errors.js";
import { syncDirectory } from "../../fs/atomic-file.js";
import { DebuginfoLayout } from "./debuginfo-layout.js";
import type { BuildIdType, DebuginfoType } from "./debuginfo-type.js";
import { decideUpload, type UploadDecision } from "./decide-upload.js";
import { type DebuginfoEntry, listDebuginfo, toEntry } from "./list-debuginfo.js";
import { KeyedMutex } from "./keyed-mutex.js";
import { REASON_UPLOAD_IN_PROGRESS } from "./upload-reasons.js";
import { readUploadRecord, type UploadRecord, writeUploadRecord } from "./upload-record.js";
import { type DebuginfoUpload, UploadWriter } from "./upload-writer.js";
import { validateBuildId, validateHash, validateProjectId, validateSize } from "./validate-request.js";

/** Parca's limit on one upload: 1 GB. */
export const DEFAULT_MAX_UPLOAD_BYTES = 1_000_000_000;
/** Parca's limit after which an unfinished upload may be replaced: 15 minutes. */
export const DEFAULT_STALE_AFTER_MS = 15 * 60 * 1000;

export interface DebuginfoStoreOptions {
  /** The folder holding every project's debuginfo, e.g. `<data-dir>/debuginfo`; created on first upload. */
  dir: string;
  maxUploadBytes?: number;
  staleAfterMs?: number;
  /** Milliseconds since the Unix epoch; injectable for tests. */
  now?: () => number;
}

/** Identifies one debuginfo file: build id and type, within a project. */
export interface DebuginfoKey {
  projectId: string;
  buildId: string;
  type: DebuginfoType;
}

export interface ShouldInitiateUploadRequest extends DebuginfoKey {
  hash?: string;
  force?: boolean;
  buildIdType?: BuildIdType;
}

export interface InitiateUploadRequest extends DebuginfoKey {
  size: number | bigint;
  hash: string;
  force?: boolean;
  buildIdType?: BuildIdType;
  /** The bytes of debuginfo the project may hold, uploads in progress included; absent: no quota. */
  quotaBytes?: number | undefined;
}

/** Identifies one initiated upload, as the agent echoes it in Upload and MarkUploadFinished. */
export interface UploadKey extends DebuginfoKey {
  uploadId: string;
}

/** UploadInstructions: this store only ever chooses the gRPC strategy. */
export interface UploadInstructions {
  buildId: string;
  uploadId: string;
  uploadStrategy: "grpc";
  type: DebuginfoType;
}

/**
 * Parca's debuginfo upload protocol (gRPC strategy) on the local disk, per project: one project
 * never sees another's build ids. All state is in files (`DebuginfoLayout`), replaced atomically,
 * so a restarted process continues where the last stopped; requests on one build id and type are
 * serialized in memory, so one process per folder. Errors are `DomainError`s:
 * invalid_argument (never retry), already_exists (nothing to do), failed_precondition (an upload
 * is in progress, or the upload is not in a state for this call), not_found (no upload with this
 * upload id is current for the build id: never initiated, or replaced by a newer one).
 */
export class DebuginfoStore {
  private readonly layout: DebuginfoLayout;
  private readonly maxUploadBytes: number;
  private readonly staleAfterMs: number;
  private readonly now: () => number;
  private readonly mutex = new KeyedMutex();
  private readonly openStreams = new Set<string>();
  /** Bytes each project holds (announced sizes of its records), read from disk once. */
  private readonly usage = new Map<string, Promise<number>>();

  constructor(options: DebuginfoStoreOptions) {
    this.layout = new DebuginfoLayout(options.dir);
    this.maxUploadBytes = options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
    this.staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
    this.now = options.now ?? Date.now;
  }

  /** Whether the agent should extract and upload this debuginfo, with Parca's reason sentence. */
  async shouldInitiateUpload(request: ShouldInitiateUploadRequest): Promise<UploadDecision> {
    const dir = this.typeDir(request);
    const record = await this.mutex.run(dir, () => readUploadRecord(this.layout.recordPath(dir)));
    return decideUpload(record, request, this.now(), this.staleAfterMs);
  }

  /**
   * Starts an upload (state `uploading`, a fresh upload id), replacing any earlier one. With a
   * quota, the project's debuginfo (announced sizes, uploads in progress included) with this one
   * in place of what it replaces must fit, else RESOURCE_EXHAUSTED naming the quota.
   */
  async initiateUpload(request: InitiateUploadRequest): Promise<UploadInstructions> {
    const dir = this.typeDir(request);
    validateHash(request.hash);
    const size = validateSize(request.size, this.maxUploadBytes);
    return this.mutex.run(dir, async () => {
      const previous = await readUploadRecord(this.layout.recordPath(dir));
      const decision = decideUpload(previous, request, this.now(), this.staleAfterMs);
      if (!decision.shouldInitiateUpload) {
        throw decision.reason === REASON_UPLOAD_IN_PROGRESS
          ? failedPrecondition(decision.reason, "upload_in_progress")
          : alreadyExists(decision.reason, "debuginfo_exists");
      }
      await this.reserve(request.projectId, size - (previous?.size ?? 0), request.quotaBytes);
      const record: UploadRecord = {
        buildId: request.buildId,
        type: request.type,
        buildIdType: request.buildIdType ?? "unknown",
        state: "uploading",
        uploadId: randomUUID(),
        hash: request.hash,
        size,
        startedAt: this.now(),
      };
      // The new record goes first: a crash in between leaves orphan files, never a dangling record.
      await writeUploadRecord(this.layout.recordPath(dir), record);
      await this.removeUploadFiles(dir);
      return {
        buildId: record.buildId,
        uploadId: record.uploadId,
        uploadStrategy: "grpc",
        type: record.type,
      };
    });
  }

  /** Opens the stream for an initiated upload; one open stream per upload id at a time. */
  async openUpload(key: UploadKey): Promise<DebuginfoUpload> {
    const dir = this.typeDir(key);
    return this.mutex.run(dir, async () => {
      const record = await this.current(dir, key.uploadId);
      if (record.state !== "uploading") throw this.alreadyFinished();
      if (this.openStreams.has(record.uploadId)) {
        throw failedPrecondition("Another stream is already uploading this upload id.", "upload_stream_open");
      }
      const partPath = this.layout.partPath(dir, record.uploadId);
      const file = await open(partPath, "w", 0o600);
      this.openStreams.add(record.uploadId);
      return new UploadWriter(file, partPath, record.size, {
        commit: () => this.commit(dir, record.uploadId, partPath),
        release: () => this.openStreams.delete(record.uploadId),
      });
    });
  }

  /** Marks a completely received upload `uploaded`; idempotent for the same upload id. */
  async markUploadFinished(key: UploadKey): Promise<void> {
    const dir = this.typeDir(key);
    await this.mutex.run(dir, async () => {
      const record = await this.current(dir, key.uploadId);
      if (record.state === "uploaded") return;
      const dataPath = this.layout.dataPath(dir, record.uploadId);
      const received = await stat(dataPath).then(
        (s) => s.size,
        (error: NodeJS.ErrnoException) => {
          if (error.code === "ENOENT") return undefined;
          throw error;
        },
      );
      if (received !== record.size) {
        throw failedPrecondition(
          "The upload has not been received completely; send all its bytes with Upload before marking it finished.",
          "upload_incomplete",
        );
      }
      await writeUploadRecord(this.layout.recordPath(dir), {
        ...record,
        state: "uploaded",
        finishedAt: this.now(),
      });
      await this.removeUploadFiles(dir, basename(dataPath));
    });
  }

  /** The state of one build id and type, or undefined when no upload was ever initiated. */
  async stat(key: DebuginfoKey): Promise<DebuginfoEntry | undefined> {
    const dir = this.typeDir(key);
    const record = await this.mutex.run(dir, () => readUploadRecord(this.layout.recordPath(dir)));
    return record && toEntry(this.layout, dir, record, this.staleness());
  }

  /** Every build id and type of one project, ordered by build id. */
  async list(projectId: string): Promise<DebuginfoEntry[]> {
    validateProjectId(projectId);
    return listDebuginfo(this.layout, projectId, this.staleness());
  }

  /** The bytes of debuginfo `projectId` holds: the announced sizes of its records. */
  projectUsage(projectId: string): Promise<number> {
    let usage = this.usage.get(projectId);
    if (usage === undefined) {
      usage = this.list(projectId).then((entries) => entries.reduce((sum, e) => sum + e.size, 0));
      usage.catch(() => this.usage.delete(projectId));
      this.usage.set(projectId, usage);
    }
    return usage;
  }

  /** Counts `delta` more bytes for the project, refusing what would pass `quotaBytes`. */
  private reserve(projectId: string, delta: number, quotaBytes: number | undefined): Promise<void> {
    return this.mutex.run(`quota:${projectId}`, async () => {
      const used = await this.projectUsage(projectId);
      if (quotaBytes !== undefined && quotaBytes > 0 && delta > 0 && used + delta > quotaBytes) {
        throw new DomainError(
          "resource_exhausted",
          `Project ${projectId} holds ${used} bytes of debuginfo; ${delta} more would pass its quota of ${quotaBytes} bytes (profgate iam projects set-limits --debuginfo-quota, or --debuginfo-quota-bytes).`,
          "debuginfo_quota",
        );
      }
      this.usage.set(projectId, Promise.resolve(used + delta));
    });
  }

  private typeDir(key: DebuginfoKey): string {
    validateProjectId(key.projectId);
    validateBuildId(key.buildId);
    return this.layout.typeDir(key.projectId, key.buildId, key.type);
  }

  private staleness() {
    return { now: this.now(), staleAfterMs: this.staleAfterMs };
  }

  private async current(dir: string, uploadId: string): Promise<UploadRecord> {
    const record = await readUploadRecord(this.layout.recordPath(dir));
    if (record === undefined || record.uploadId !== uploadId) {
      throw notFound(
        "No upload with this upload id is in progress for the build id; initiate an upload first.",
        "upload_not_found",
      );
    }
    return record;
  }

  private alreadyFinished() {
    return failedPrecondition(
      "The upload was already marked finished; initiate a new upload to replace it.",
      "upload_finished",
    );
  }

  private commit(dir: string, uploadId: string, partPath: string): Promise<void> {
    return this.mutex.run(dir, async () => {
      const record = await this.current(dir, uploadId);
      if (record.state !== "uploading") throw this.alreadyFinished();
      await rename(partPath, this.layout.dataPath(dir, uploadId));
      await syncDirectory(dir);
    });
  }

  private async removeUploadFiles(dir: string, keep?: string): Promise<void> {
    const names = await readdir(dir).catch(() => []);
    for (const name of names) {
      if (name !== keep && this.layout.isUploadFile(name)) await rm(join(dir, name), { force: true });
    }
  }
}
