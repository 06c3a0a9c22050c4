import { DictionaryBatch } from "apache-arrow/fb/dictionary-batch";
import { Message } from "apache-arrow/fb/message";
import { MessageHeader } from "apache-arrow/fb/message-header";
import { MetadataVersion } from "apache-arrow/fb/metadata-version";
import { RecordBatch } from "apache-arrow/fb/record-batch";
import { Schema } from "apache-arrow/fb/schema";
import { invalidArgument } from "../../errors.js";
import { CheckedByteBuffer } from "./checked-byte-buffer.js";
import { type IpcBatch, readBatch, safeInteger } from "./read-batch.js";
import { type IpcSchema, readSchema } from "./read-schema.js";

/** A message after the schema. `body` is a view into the input bytes, not a copy. */
export type IpcMessage =
  | { type: "record_batch"; batch: IpcBatch; body: Uint8Array }
  | { type: "dictionary_batch"; id: bigint; isDelta: boolean; batch: IpcBatch; body: Uint8Array };

/** An Arrow IPC stream with its framing and metadata checked; buffers are neither copied nor decoded. */
export interface IpcStream {
  schema: IpcSchema;
  messages: IpcMessage[];
}

const CONTINUATION = -1; // 0xFFFFFFFF read as int32
// An agent's stream holds a schema, one dictionary batch per dictionary column and one record batch.
const MAX_MESSAGES = 65_536;

const malformed = () => invalidArgument("The Arrow IPC stream is malformed.", "malformed_arrow");

/**
 * The schemas read lately, by their exact metadata bytes: an agent sends the same schema message
 * with every payload, and reading it (every field's name and type through flatbuffers) cost more
 * than walking the rest of the stream. Bounded in entries and in the size of a schema kept; a
 * schema read from the cache is shared: read-only.
 */
class SchemaCache {
  private readonly schemas = new Map<string, IpcSchema>();

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {}

  read(metadata: Uint8Array, parse: () => IpcSchema): IpcSchema {
    if (metadata.length > this.maxBytes) return parse();
    const key = Buffer.from(metadata.buffer, metadata.byteOffset, metadata.byteLength).toString("latin1");
    const known = this.schemas.get(key);
    if (known !== undefined) return known;
    // Throws for a malformed schema, which is then not kept.
    const schema = parse();
    if (this.schemas.size >= this.maxEntries) this.schemas.clear();
    this.schemas.set(key, schema);
    return schema;
  }
}

const knownSchemas = new SchemaCache(256, 64 * 1024);

/**
 * Walks an Arrow IPC stream: a schema message first, then dictionary and record batches, ended by
 * a zero length or by the end of the bytes (anything after an end-of-stream marker is ignored).
 * Accepts the continuation-marker framing and the legacy one without it, metadata versions V4 and V5.
 *
 * Guarantees: returns only if every length, offset and buffer lies inside `bytes`; otherwise throws
 * `invalidArgument` with reason `malformed_arrow` (or `unsupported_arrow` for valid streams using
 * features profgate does not read), never another error. Work and allocation are linear in the input.
 */
export function readIpcStream(bytes: Uint8Array): IpcStream {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let position = 0;
  let schema: IpcSchema | undefined;
  const messages: IpcMessage[] = [];
  while (position < bytes.length) {
    if (bytes.length - position < 4) throw malformed();
    let metadataLength = view.getInt32(position, true);
    position += 4;
    if (metadataLength === CONTINUATION) {
      if (bytes.length - position < 4) throw malformed();
      metadataLength = view.getInt32(position, true);
      position += 4;
    }
    if (metadataLength === 0) break;
    if (metadataLength < 0 || metadataLength > bytes.length - position) throw malformed();
    const metadata = bytes.subarray(position, position + metadataLength);
    const message = Message.getRootAsMessage(new CheckedByteBuffer(metadata));
    position += metadataLength;
    const bodyLength = safeInteger(message.bodyLength());
    if (bodyLength > bytes.length - position) throw malformed();
    const body = bytes.subarray(position, position + bodyLength);
    position += bodyLength;
    checkVersion(message.version());
    if (schema === undefined) {
      if (message.headerType() !== MessageHeader.Schema) throw malformed();
      schema = knownSchemas.read(metadata, () => readSchema(header(message, new Schema())));
      continue;
    }
    if (messages.length >= MAX_MESSAGES) throw malformed();
    messages.push(readMessage(message, body));
  }
  if (schema === undefined) throw malformed();
  return { schema, messages };
}

function readMessage(message: Message, body: Uint8Array): IpcMessage {
  switch (message.headerType()) {
    case MessageHeader.RecordBatch:
      return {
        type: "record_batch",
        batch: readBatch(header(message, new RecordBatch()), body.length),
        body,
      };
    case MessageHeader.DictionaryBatch: {
      const dictionary = header(message, new DictionaryBatch());
      const data = dictionary.data();
      if (data === null) throw malformed();
      const batch = readBatch(data, body.length);
      return { type: "dictionary_batch", id: dictionary.id(), isDelta: dictionary.isDelta(), batch, body };
    }
    case MessageHeader.Tensor:
    case MessageHeader.SparseTensor:
      throw invalidArgument("Arrow tensor messages are not supported.", "unsupported_arrow");
    default:
      throw malformed();
  }
}

function header<T>(message: Message, table: T): T {
  const result: T | null = message.header(table);
  if (result === null) throw malformed();
  return result;
}

function checkVersion(version: MetadataVersion): void {
  if (version < MetadataVersion.V1 || version > MetadataVersion.V5) throw malformed();
  if (version < MetadataVersion.V4) {
    throw invalidArgument("Only Arrow IPC metadata versions V4 and V5 are supported.", "unsupported_arrow");
  }
}
