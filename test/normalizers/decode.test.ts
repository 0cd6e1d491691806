import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type DecodedRecord,
  type DecodeFailure,
  detectSource,
  NormalizationError,
  normalize,
  recordsFromDocument,
  STREAM_SHAPES,
} from '../../lambda/engine/normalizers';
import {
  azElevateAccessRest,
  azRoleAssignmentStart,
  azRoleAssignmentSuccess,
  ctConsoleLoginFailure,
  ctDeleteAccessKey,
  ctInsight,
  eventBridge,
  gcpDeleteServiceAccountKey,
  gcpStorageSetIamPolicy,
  pubSubPush,
} from './fixtures';

function decode(value: unknown): (DecodedRecord | DecodeFailure)[] {
  return [...recordsFromDocument(value)];
}

function summary(items: (DecodedRecord | DecodeFailure)[]): string[] {
  return items.map((item) => ('error' in item ? `${item.index}:error` : `${item.index}:${item.source}`));
}

describe('detectSource', () => {
  it.each([
    ['a CloudTrail record', ctDeleteAccessKey(), 'aws-cloudtrail'],
    ['a CloudTrail Insights record', ctInsight(), 'aws-cloudtrail'],
    ['an Event Hub Activity Log record', azRoleAssignmentStart(), 'azure-activity-logs'],
    ['a REST Activity Log record', azElevateAccessRest(), 'azure-activity-logs'],
    ['a GCP audit LogEntry', gcpDeleteServiceAccountKey(), 'gcp-audit-logs'],
    ['a CloudTrail log file', { Records: [ctDeleteAccessKey()] }, undefined],
    ['an EventBridge envelope', eventBridge(ctDeleteAccessKey()), undefined],
    [
      'an Entra ID audit record',
      { category: 'AuditLogs', operationName: 'Add member to role', time: 'x' },
      undefined,
    ],
    [
      'a non-audit LogEntry',
      { protoPayload: { '@type': 'type.googleapis.com/google.appengine.logging.v1.RequestLog' } },
      undefined,
    ],
    ['null', null, undefined],
    ['a string', 'eventSource', undefined],
  ])('classifies %s', (_case, value, expected) => {
    // Act
    const source = detectSource(value);

    // Assert
    expect(source).toBe(expected);
  });
});

describe('recordsFromDocument', () => {
  it('unwraps a CloudTrail S3 log file, numbering records from 1', () => {
    // Arrange
    const file = { Records: [ctDeleteAccessKey(), ctConsoleLoginFailure(), ctInsight()] };

    // Act
    const items = decode(file);

    // Assert
    expect(summary(items)).toEqual(['1:aws-cloudtrail', '2:aws-cloudtrail', '3:aws-cloudtrail']);
    expect((items[1] as DecodedRecord).record).toBe(file.Records[1]);
  });

  it('yields a single record as itself', () => {
    // Act
    const items = decode(ctDeleteAccessKey());

    // Assert
    expect(summary(items)).toEqual(['1:aws-cloudtrail']);
  });

  it('unwraps an EventBridge CloudTrail event to its detail, keeping the CloudTrail event id', () => {
    // Arrange
    const detail = ctDeleteAccessKey();

    // Act
    const [item] = decode(eventBridge(detail));
    const { doc } = normalize('aws-cloudtrail', (item as DecodedRecord).record);

    // Assert
    expect((item as DecodedRecord).record).toBe(detail);
    expect(doc.event.id).toBe(detail.eventID);
  });

  it('fills time, region and account from the envelope only when the detail lacks them', () => {
    // Arrange
    const { eventTime: _t, awsRegion: _r, recipientAccountId: _a, ...detail } = ctDeleteAccessKey();

    // Act
    const [item] = decode(eventBridge(detail, { time: '2024-05-14T08:31:09Z', region: 'eu-central-1' }));
    const { doc } = normalize('aws-cloudtrail', (item as DecodedRecord).record);

    // Assert
    expect(doc['@timestamp']).toBe('2024-05-14T08:31:09.000Z');
    expect(doc.cloud.region).toBe('eu-central-1');
    expect(doc.cloud.account?.id).toBe('210987654321');
    expect(detail).not.toHaveProperty('eventTime');
  });

  it('reports an EventBridge event that is not from CloudTrail', () => {
    // Act
    const items = decode(
      eventBridge({ state: 'running' }, { 'detail-type': 'EC2 Instance State-change Notification' }),
    );

    // Assert
    expect(items).toEqual([
      { index: 1, error: expect.stringContaining('EC2 Instance State-change Notification') },
    ]);
  });

  it('unwraps Azure Event Hub records and REST value arrays', () => {
    // Act
    const eventHub = decode({ records: [azRoleAssignmentStart(), azRoleAssignmentSuccess()] });
    const rest = decode({ value: [azElevateAccessRest()], nextLink: null });

    // Assert
    expect(summary(eventHub)).toEqual(['1:azure-activity-logs', '2:azure-activity-logs']);
    expect(summary(rest)).toEqual(['1:azure-activity-logs']);
  });

  it('unwraps GCP entries and Pub/Sub push, pull and bare messages', () => {
    // Arrange
    const entry = gcpDeleteServiceAccountKey();
    const push = pubSubPush(entry);
    const pull = {
      receivedMessages: [
        { ackId: 'ack-1', message: push.message },
        { ackId: 'ack-2', message: push.message },
      ],
    };
    const bare = push.message;

    // Act
    const all = [
      decode({ entries: [entry, gcpStorageSetIamPolicy()] }),
      decode(push),
      decode(pull),
      decode(bare),
    ];

    // Assert
    expect(all.map(summary)).toEqual([
      ['1:gcp-audit-logs', '2:gcp-audit-logs'],
      ['1:gcp-audit-logs'],
      ['1:gcp-audit-logs', '2:gcp-audit-logs'],
      ['1:gcp-audit-logs'],
    ]);
    const pushed = all[1]?.[0];
    expect(pushed !== undefined && 'record' in pushed ? pushed.record : undefined).toEqual(entry);
  });

  it('leaves Pub/Sub messages closed for a stream, saying why, and every other shape as it was', () => {
    // Arrange
    const entry = gcpDeleteServiceAccountKey();
    const push = pubSubPush(entry);
    const messages = [
      push,
      { receivedMessages: [{ ackId: 'ack-1', message: push.message }] },
      push.message,
      { data: JSON.stringify(entry) },
    ];
    const others = [
      { entries: [entry, gcpStorageSetIamPolicy()] },
      { Records: [ctDeleteAccessKey(), ctInsight()] },
      eventBridge(ctDeleteAccessKey()),
      { records: [azRoleAssignmentStart()] },
      [azElevateAccessRest(), entry, { hello: 'world' }],
    ];

    // Act
    const closed = messages.map((message) => [...recordsFromDocument(message, STREAM_SHAPES)]);

    // Assert
    for (const items of closed) {
      expect(items).toEqual([
        { index: 1, error: expect.stringContaining('a Pub/Sub message, not an audit record') },
      ]);
      expect((items[0] as DecodeFailure).error).toContain('GCP forwarder decodes');
    }
    for (const document of others) {
      expect([...recordsFromDocument(document, STREAM_SHAPES)]).toEqual(decode(document));
    }
  });

  it('unwraps arrays of mixed sources and wrappers in document order', () => {
    // Act
    const items = decode([
      ctDeleteAccessKey(),
      { Records: [ctInsight(), 'garbage'] },
      azElevateAccessRest(),
      pubSubPush(gcpDeleteServiceAccountKey()),
      { hello: 'world' },
    ]);

    // Assert
    expect(summary(items)).toEqual([
      '1:aws-cloudtrail',
      '2:aws-cloudtrail',
      '3:error',
      '4:azure-activity-logs',
      '5:gcp-audit-logs',
      '6:error',
    ]);
  });

  it.each([
    ['a number', 42, 'not a JSON object'],
    ['an unknown object', { hello: 'world' }, 'unrecognized record (keys: hello)'],
    [
      'an Entra ID audit record',
      { category: 'AuditLogs', operationName: 'Add member to role' },
      'Entra ID AuditLogs',
    ],
    [
      'a non-audit LogEntry',
      { protoPayload: { '@type': 'type.googleapis.com/x.RequestLog' } },
      'not a Cloud Audit Log',
    ],
    [
      'a CloudTrail record without eventName',
      { eventVersion: '1.08', eventSource: 'iam.amazonaws.com' },
      'CloudTrail-like',
    ],
    ['Pub/Sub data that is not base64', { message: { data: '%%%' } }, 'neither base64 nor JSON'],
    [
      'Pub/Sub data that is not JSON',
      { data: Buffer.from('plain text').toString('base64') },
      'does not decode to JSON',
    ],
    ['absurd nesting', JSON.parse(`${'['.repeat(20)}1${']'.repeat(20)}`), 'nested more than'],
  ])('yields an error entry for %s', (_case, value, message) => {
    // Act
    const items = decode(value);

    // Assert
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ index: 1, error: expect.stringContaining(message) });
  });

  it('yields nothing for an empty log file', () => {
    // Act
    const items = decode({ Records: [] });

    // Assert
    expect(items).toEqual([]);
  });

  it('never throws and numbers every item, whatever the document', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        // Act
        const items = decode(value);

        // Assert
        items.forEach((item, i) => {
          expect(item.index).toBe(i + 1);
        });
      }),
      { numRuns: 500 },
    );
  });
});

describe('normalize', () => {
  it.each([
    ['aws-cloudtrail', ctDeleteAccessKey(), 'AWS IAM'],
    ['azure-activity-logs', azRoleAssignmentStart(), 'Microsoft.Authorization'],
    ['gcp-audit-logs', gcpDeleteServiceAccountKey(), 'gcp.iam'],
  ] as const)('dispatches %s to its normalizer', (source, record, provider) => {
    // Act
    const { doc, provenance } = normalize(source, record);

    // Assert
    expect(doc.event.provider).toBe(provider);
    expect(provenance.source).toBe(source);
  });

  it('throws NormalizationError when the record does not fit the source', () => {
    // Act
    const act = () => normalize('gcp-audit-logs', ctDeleteAccessKey());

    // Assert
    expect(act).toThrow(NormalizationError);
  });
});
