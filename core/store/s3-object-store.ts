/**
 * Objects in any S3-compatible service, under `s3://bucket/prefix/`. Objects are content-addressed
 * and immutable, so every request is safe to repeat: requests that fail with a 5xx status, a
 * timeout or a dropped connection are retried with backoff, and a 4xx answer never is (it will
 * not change by asking again).
 *
 * Large objects go up as multipart uploads from a stream, holding a few parts in memory at a
 * time; reads stream too, and a read cut off part-way resumes from where it stopped.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import { CorruptObjectError, InvalidArgumentError, NotFoundError, OpenDuckError, StoreUnavailableError, errorMessage } from '../errors.js';
import { validateObjectKey, type ObjectInfo, type ObjectStore } from './object-store.js';
import { describeS3, validateBucket, validateS3Prefix } from './locations.js';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3ObjectStoreOptions {
  bucket: string;
  /** Folder inside the bucket; '' for the bucket's root. */
  prefix?: string;
  /** For S3-compatible services (MinIO, R2, Ceph, …): `http(s)://host:port`. */
  endpoint?: string;
  /** Default: AWS_REGION, else us-east-1. */
  region?: string;
  /** Path-style addressing (`endpoint/bucket/key`); default true when an endpoint is given. */
  forcePathStyle?: boolean;
  /** Default: the AWS SDK's chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, …). */
  credentials?: S3Credentials;
  /** Objects larger than this are uploaded in parts of this size (at least 5 MiB). */
  partSize?: number;
  /** Parts uploaded at once. */
  partConcurrency?: number;
  /** Tries per request, the first included, for 5xx answers, timeouts and dropped connections. */
  maxAttempts?: number;
  /** A request making no progress for this long is abandoned (and retried). */
  idleTimeoutMs?: number;
  connectTimeoutMs?: number;
}

/** Real S3 refuses parts under 5 MiB (except the last). */
export const MIN_PART_SIZE = 5 << 20;
const DEFAULT_PART_SIZE = 8 << 20;
/** S3's limit on parts per upload. */
const MAX_PARTS = 10_000;
const NETWORK_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);

const quietLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, trace: () => {} };

export class S3ObjectStore implements ObjectStore {
  readonly description: string;
  readonly bucket: string;
  /** The key prefix including its trailing slash, or ''. */
  private readonly root: string;
  private readonly client: S3Client;
  private readonly partSize: number;
  private readonly partConcurrency: number;
  private readonly maxAttempts: number;

  constructor(options: S3ObjectStoreOptions) {
    this.bucket = validateBucket(options.bucket);
    const prefix = validateS3Prefix(options.prefix ?? '');
    this.root = prefix ? `${prefix}/` : '';
    this.description = describeS3({ bucket: this.bucket, prefix, endpoint: options.endpoint });
    this.partSize = Math.max(MIN_PART_SIZE, options.partSize ?? DEFAULT_PART_SIZE);
    this.partConcurrency = Math.max(1, options.partConcurrency ?? 3);
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    // The SDK warns on stderr about Node versions it will drop; a CLI's stderr is for its own errors.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.client = new S3Client({
      region: options.region ?? (process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1'),
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.forcePathStyle ?? !!options.endpoint,
      ...(options.credentials ? { credentials: options.credentials } : {}),
      // Retries are ours, so 4xx is never retried and every retry is counted the same way.
      maxAttempts: 1,
      // Checksums only where S3 requires them: many S3-compatible services reject the SDK's
      // newer default (aws-chunked bodies with trailing checksums). Uploads carry Content-MD5.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      logger: quietLogger,
      requestHandler: {
        connectionTimeout: options.connectTimeoutMs ?? 5_000,
        socketTimeout: options.idleTimeoutMs ?? 30_000,
        logger: quietLogger,
      },
    });
  }

  private keyOf(key: string): string {
    return this.root + validateObjectKey(key);
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    const full = this.keyOf(key);
    if (await this.head(key)) return;
    await this.putBuffer(full, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  }

  async putFile(key: string, path: string): Promise<void> {
    const full = this.keyOf(key);
    if (!(await this.head(key))) {
      const { size } = await stat(path);
      await this.upload(full, createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>, size);
    }
    await rm(path, { force: true });
  }

  async putStream(key: string, source: AsyncIterable<Uint8Array>, sizeHint?: number): Promise<void> {
    const full = this.keyOf(key);
    if (await this.head(key)) return;
    await this.upload(full, source, sizeHint);
  }

  /** One PUT when the object fits in a part, else a multipart upload fed as the source yields. */
  private async upload(full: string, source: AsyncIterable<Uint8Array>, sizeHint?: number): Promise<void> {
    const partSize = sizeHint ? Math.max(this.partSize, Math.ceil(sizeHint / (MAX_PARTS - 1))) : this.partSize;
    const parts = partsOf(source, partSize, sizeHint);
    const first = await parts.next();
    const second = first.done ? first : await parts.next();
    if (second.done) {
      await this.putBuffer(full, first.done ? Buffer.alloc(0) : first.value);
      return;
    }
    const created = await this.request('start an upload of', full, () =>
      this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: full })),
    );
    const uploadId = created.UploadId!;
    const completed: CompletedPart[] = [];
    const inFlight = new Set<Promise<void>>();
    let failure: unknown = null;
    const send = (partNumber: number, body: Buffer) => {
      const p = this.request('upload part of', full, () =>
        this.client.send(
          new UploadPartCommand({ Bucket: this.bucket, Key: full, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: body.length, ContentMD5: md5(body) }),
        ),
      ).then(
        (r) => void completed.push({ PartNumber: partNumber, ETag: r.ETag! }),
        (err) => void (failure ??= err),
      );
      const tracked = p.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
    };
    try {
      let partNumber = 1;
      send(partNumber++, first.value!);
      send(partNumber++, second.value);
      for await (const body of parts) {
        while (inFlight.size >= this.partConcurrency) await Promise.race(inFlight);
        if (failure) break;
        send(partNumber++, body);
      }
      await Promise.all(inFlight);
      if (failure) throw failure;
      completed.sort((a, b) => a.PartNumber! - b.PartNumber!);
      await this.request('finish the upload of', full, () =>
        this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: full, UploadId: uploadId, MultipartUpload: { Parts: completed } })),
      );
    } catch (err) {
      await Promise.allSettled(inFlight);
      // Best effort: an upload left open costs storage until a bucket lifecycle rule aborts it.
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: full, UploadId: uploadId })).catch(() => undefined);
      throw err;
    }
  }

  private async putBuffer(full: string, body: Buffer): Promise<void> {
    await this.request('write', full, () =>
      this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: full, Body: body, ContentLength: body.length, ContentMD5: md5(body) })),
    );
  }

  async get(key: string): Promise<Buffer> {
    const full = this.keyOf(key);
    return this.request('read', full, async () => {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: full }));
      return readBody(r.Body as Readable);
    });
  }

  async getRange(key: string, offset: number, length: number): Promise<Buffer> {
    const full = this.keyOf(key);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new InvalidArgumentError(`invalid range ${offset}+${length} of ${key}`);
    }
    if (length === 0) {
      if (!(await this.head(key))) throw new NotFoundError('object', key);
      return Buffer.alloc(0);
    }
    const data = await this.request('read', full, async () => {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: full, Range: `bytes=${offset}-${offset + length - 1}` }));
      return readBody(r.Body as Readable);
    });
    if (data.length !== length) throw new CorruptObjectError(key, `range ${offset}+${length} is past the end of the object`);
    return data;
  }

  async *getStream(key: string): AsyncIterable<Buffer> {
    const full = this.keyOf(key);
    let position = 0;
    let size: number | null = null;
    let attempt = 1;
    while (size === null || position < size) {
      let body: Readable | null = null;
      try {
        const from = position;
        const r = await this.request('read', full, () =>
          this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: full, ...(from > 0 ? { Range: `bytes=${from}-` } : {}) })),
        );
        size ??= Number(r.ContentLength ?? 0);
        body = r.Body as Readable;
        for await (const chunk of body) {
          position += chunk.length;
          yield chunk as Buffer;
        }
        if (position < size) throw Object.assign(new Error('the connection closed before the object ended'), { code: 'ECONNRESET' });
      } catch (err) {
        // A read cut off part-way resumes where it stopped; objects never change under a key.
        if (err instanceof OpenDuckError || !isRetryable(err) || attempt >= this.maxAttempts) throw this.translate(err, 'read', full);
        await backoff(attempt++);
      } finally {
        body?.destroy();
      }
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const full = this.keyOf(key);
    try {
      const r = await this.request('look up', full, () => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: full })));
      return { key, size: Number(r.ContentLength ?? 0), modifiedAt: r.LastModified?.getTime() ?? 0 };
    } catch (err) {
      if (err instanceof NotFoundError) return null;
      throw err;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    if (!/^[A-Za-z0-9_.\/-]*$/.test(prefix) || prefix.split('/').some((s) => s === '.' || s === '..')) {
      throw new InvalidArgumentError(`invalid object prefix ${JSON.stringify(prefix)}`);
    }
    let token: string | undefined;
    do {
      const page = await this.request('list', this.root + prefix, () =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.root + prefix, ContinuationToken: token })),
      );
      for (const o of page.Contents ?? []) {
        if (!o.Key?.startsWith(this.root)) continue;
        yield { key: o.Key.slice(this.root.length), size: Number(o.Size ?? 0), modifiedAt: o.LastModified?.getTime() ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(key: string): Promise<void> {
    const full = this.keyOf(key);
    try {
      await this.request('delete', full, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: full })));
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  /** Runs one request, retrying 5xx answers, timeouts and dropped connections with backoff. */
  private async request<T>(action: string, full: string, op: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await op();
      } catch (err) {
        if (!isRetryable(err) || attempt >= this.maxAttempts) throw this.translate(err, action, full);
        await backoff(attempt);
      }
    }
  }

  /** A typed error naming the service (never its credentials) and the object. */
  private translate(err: unknown, action: string, full: string): Error {
    if (err instanceof OpenDuckError) return err;
    const key = full.slice(this.root.length);
    const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
    const status = e.$metadata?.httpStatusCode;
    // HEAD answers carry no body, so the SDK cannot name the S3 error code.
    const code = e.name && e.name !== 'Unknown' ? e.name : `HTTP ${status}`;
    if (e.name === 'NoSuchBucket') return new StoreUnavailableError(this.description, `bucket ${this.bucket} does not exist`, { reachable: true });
    if (status === 404 || e.name === 'NoSuchKey' || e.name === 'NotFound') return new NotFoundError('object', key);
    if (e.name === 'CredentialsProviderError') {
      return new StoreUnavailableError(
        this.description,
        'no credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE, or put them in .openduck/credentials',
        { reachable: true },
      );
    }
    if (status === 403 || status === 401) {
      return new StoreUnavailableError(this.description, `access denied when trying to ${action} ${key || 'objects'} (${code}); check the credentials`, { reachable: true });
    }
    if (status !== undefined && status >= 400 && status < 500) {
      return new StoreUnavailableError(this.description, `refused to ${action} ${key || 'objects'}: ${code}`, { reachable: true });
    }
    if (status !== undefined) return new StoreUnavailableError(this.description, `failed to ${action} ${key || 'objects'}: ${code === `HTTP ${status}` ? code : `HTTP ${status} ${code}`} after ${this.maxAttempts} tries`);
    return new StoreUnavailableError(this.description, `cannot ${action} ${key || 'objects'}: ${networkReason(err)}`);
  }
}

/** The retry rule: 5xx answers and transport failures, never a 4xx answer. */
export function isRetryable(err: unknown): boolean {
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number' && status >= 400) return status >= 500;
  if (e.name === 'TimeoutError' || e.name === 'RequestTimeout' || e.name === 'AbortError') return true;
  if (e.code && NETWORK_ERROR_CODES.has(e.code)) return true;
  return /socket hang up|ECONNRESET|ECONNREFUSED|EPIPE|connection closed/i.test(errorMessage(err));
}

function networkReason(err: unknown): string {
  const e = err as { code?: string; name?: string };
  if (e.code === 'ECONNREFUSED') return 'connection refused';
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return 'host not found';
  if (e.name === 'TimeoutError' || e.code === 'ETIMEDOUT') return 'timed out';
  return (e.code ? `${e.code}: ` : '') + errorMessage(err).split('\n')[0]!;
}

async function backoff(attempt: number): Promise<void> {
  const base = Math.min(2_000, 100 * 2 ** (attempt - 1));
  await new Promise((r) => setTimeout(r, base / 2 + Math.random() * (base / 2)));
}

function md5(data: Buffer): string {
  return createHash('md5').update(data).digest('base64');
}

async function readBody(body: Readable): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for await (const piece of body) pieces.push(piece as Buffer);
  return Buffer.concat(pieces);
}

/**
 * Regroups a byte stream into parts of exactly `size` bytes (the last may be shorter). Bytes are
 * copied, so a source may reuse its buffers. With `expected` (the total, when known), a small
 * object gets a buffer of its own size rather than a whole part's.
 */
async function* partsOf(source: AsyncIterable<Uint8Array>, size: number, expected?: number): AsyncGenerator<Buffer> {
  let produced = 0;
  const allocate = () => Buffer.allocUnsafe(expected === undefined ? size : Math.max(1, Math.min(size, expected - produced)));
  let part = allocate();
  let filled = 0;
  for await (const chunk of source) {
    let offset = 0;
    while (offset < chunk.length) {
      if (filled === part.length) {
        // More bytes than expected: grow to a whole part.
        const bigger = Buffer.allocUnsafe(size);
        part.copy(bigger, 0, 0, filled);
        part = bigger;
      }
      const n = Math.min(part.length - filled, chunk.length - offset);
      part.set(chunk.subarray(offset, offset + n), filled);
      filled += n;
      offset += n;
      if (filled === size) {
        yield part;
        produced += size;
        part = allocate();
        filled = 0;
      }
    }
  }
  if (filled > 0) yield part.subarray(0, filled);
}
