import type { PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it, vi } from 'vitest';
import type { DeadLetter } from '../../lambda/adapters/dead-letter';
import { deadLetterId, deadLetterKey, S3DeadLetterSink } from '../../lambda/adapters/dead-letter';

const STREAM_ARN = 'arn:aws:kinesis:us-east-1:111122223333:stream/audit-logs';

function kinesisDeadLetter(overrides: Partial<DeadLetter> = {}): DeadLetter {
  return {
    source: 'kinesis',
    location: { streamArn: STREAM_ARN, shardId: 'shardId-000000000001', sequenceNumber: '4959000000000001' },
    reason: 'payload is not JSON: Unexpected token',
    raw: Buffer.from('{"not json', 'utf8'),
    receivedAt: new Date('2026-11-28T09:05:00.000Z'),
    ...overrides,
  };
}

/** The S3 client boundary: `send` receives the real `PutObjectCommand`; we read its input. */
function stubS3() {
  const send = vi.fn(async (_command: PutObjectCommand) => ({}));
  const input = (call = 0) => send.mock.calls[call]?.[0]?.input;
  return { send, input } as { send: typeof send; input: typeof input } & Pick<
    import('@aws-sdk/client-s3').S3Client,
    'send'
  >;
}

describe('S3DeadLetterSink', () => {
  it('puts the record under a dated key for its source and location, leaving encryption to the bucket key', async () => {
    const s3 = stubS3();
    const sink = new S3DeadLetterSink(s3, { bucket: 'dead-letters' });

    await sink.write(kinesisDeadLetter());

    expect(s3.send).toHaveBeenCalledTimes(1);
    const input = s3.input();
    expect(input).toMatchObject({
      Bucket: 'dead-letters',
      Key: 'dead-letter/2026/11/28/kinesis/audit-logs.shardId-000000000001.4959000000000001.json',
      ContentType: 'application/json',
    });
    expect(input).not.toHaveProperty('ServerSideEncryption');
    expect(JSON.parse(String(input?.Body ?? ''))).toEqual({
      source: 'kinesis',
      location: {
        streamArn: STREAM_ARN,
        shardId: 'shardId-000000000001',
        sequenceNumber: '4959000000000001',
      },
      reason: 'payload is not JSON: Unexpected token',
      receivedAt: '2026-11-28T09:05:00.000Z',
      bytes: 10,
      raw: { encoding: 'utf8', data: '{"not json' },
    });
  });

  it('keeps bytes that are not UTF-8 as base64, exactly', async () => {
    const s3 = stubS3();
    const sink = new S3DeadLetterSink(s3, { bucket: 'dead-letters' });
    const raw = Buffer.from([0x1f, 0x8b, 0xff, 0x00, 0xfe]);

    await sink.write(kinesisDeadLetter({ raw }));

    const body = JSON.parse(String(s3.input()?.Body ?? ''));
    expect(body.raw.encoding).toBe('base64');
    expect(Buffer.from(body.raw.data, 'base64')).toEqual(raw);
  });

  it('asks for SSE-KMS with the given key', async () => {
    const s3 = stubS3();
    const sink = new S3DeadLetterSink(s3, {
      bucket: 'dead-letters',
      kmsKeyId: 'alias/detector',
    });

    await sink.write(kinesisDeadLetter());

    expect(s3.input()).toMatchObject({
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: 'alias/detector',
    });
  });

  it('lets a failed put throw, so the caller retries the record instead of losing it', async () => {
    const sink = new S3DeadLetterSink(
      { send: async () => Promise.reject(new Error('AccessDenied')) },
      { bucket: 'dead-letters' },
    );

    await expect(sink.write(kinesisDeadLetter())).rejects.toThrow('AccessDenied');
  });
});

describe('deadLetterKey', () => {
  it.each([
    ['an EventBridge event id', { eventId: '0b1c2d3e-aaaa-4bbb' }, '0b1c2d3e-aaaa-4bbb'],
    [
      'a record inside a Kinesis payload',
      { streamArn: STREAM_ARN, shardId: 'shardId-000000000000', sequenceNumber: '42', index: 3 },
      'audit-logs.shardId-000000000000.42.3',
    ],
    ['characters that do not belong in a key', { eventId: '../../etc/passwd?x=1' }, '.._.._etc_passwd_x_1'],
    ['no location at all', {}, 'unknown'],
  ])('names the object by %s', (_name, location, id) => {
    expect(deadLetterId(location)).toBe(id);
  });

  it('dates the key by arrival in UTC', () => {
    const key = deadLetterKey(
      kinesisDeadLetter({
        source: 'eventbridge',
        location: { eventId: 'e1' },
        receivedAt: new Date('2026-01-02T23:59:59-05:00'),
      }),
    );

    expect(key).toBe('dead-letter/2026/01/03/eventbridge/e1.json');
  });
});
