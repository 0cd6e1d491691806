/**
 * What the detector costs to run in AWS, per million events and per month, for a small, a medium and a
 * large organization. Every input is a constant at the top of this file; the output is the markdown
 * table in BENCHMARKS.md ("Cost model"). `npx tsx bench/cost-model.ts` prints it with the Lambda
 * durations below; `npm run bench` passes the durations it has just measured instead.
 *
 * Prices: AWS public list prices for us-east-1 as published at the time of writing (2025); this
 * workplace has no internet access, so they could not be re-checked on the run date — check the pricing
 * pages before quoting a figure. Free tiers are ignored (they matter only for the smallest organization).
 */
import { fileURLToPath } from 'node:url';
import { table } from './harness';

// ---------------------------------------------------------------------------------------------------------
// Prices (USD, us-east-1)

export const PRICES = {
  /** EventBridge: events delivered to another account's bus count as custom events. */
  eventBridgePerMillionEvents: 1.0,
  /** Lambda arm64. */
  lambdaPerGbSecond: 0.0000133334,
  lambdaPerMillionRequests: 0.2,
  /** Kinesis Data Streams on-demand. */
  kinesisOnDemandStreamHour: 0.04,
  kinesisOnDemandPerGbIngested: 0.08,
  /** Per GB read, per consumer (the detect function's event source mapping and Firehose). */
  kinesisOnDemandPerGbRetrieved: 0.04,
  /** Kinesis Data Streams provisioned. */
  kinesisShardHour: 0.015,
  kinesisPerMillionPutUnits: 0.014,
  /** Firehose Direct PUT / Kinesis source, first 500 TB a month; each record is billed in 5 KB steps. */
  firehosePerGbIngested: 0.029,
  /** DynamoDB on-demand, per million write request units (1 KB each). */
  dynamoDbPerMillionWriteUnits: 0.625,
  /** SNS: publishes, and e-mail deliveries. */
  snsPerMillionPublishes: 0.5,
  snsPerHundredThousandEmails: 2.0,
  /** Athena: per TB scanned, 10 MB minimum per query. */
  athenaPerTbScanned: 5.0,
  /** S3 Standard storage of the Kinesis lake (CloudTrail's own trail bucket is the customer's anyway). */
  s3PerGbMonth: 0.023,
  /** CloudWatch Logs ingestion (the functions' logs). */
  logsPerGbIngested: 0.5,
} as const;

// ---------------------------------------------------------------------------------------------------------
// The organizations (events a month, by source) and how the system is configured

export interface Organization {
  readonly name: string;
  /** CloudTrail management events a month, all accounts. */
  readonly awsEvents: number;
  /** Azure Activity Log records a month (via Event Hub → forwarder → Kinesis). */
  readonly azureEvents: number;
  /** GCP audit log entries a month (via Pub/Sub → forwarder → Kinesis). */
  readonly gcpEvents: number;
}

export const ORGANIZATIONS: readonly Organization[] = [
  { name: 'small (10 AWS accounts, 1 tenant, 5 projects)', awsEvents: 5e6, azureEvents: 1e6, gcpEvents: 1e6 },
  {
    name: 'medium (100 accounts, 5 tenants, 50 projects)',
    awsEvents: 100e6,
    azureEvents: 20e6,
    gcpEvents: 20e6,
  },
  {
    name: 'large (1,000 accounts, 20 tenants, 500 projects)',
    awsEvents: 2e9,
    azureEvents: 300e6,
    gcpEvents: 300e6,
  },
];

export const ASSUMPTIONS = {
  /** Average raw record size (the benchmark's generated events: CloudTrail 1.4 KB, Azure 2.9 KB, GCP 1.7 KB). */
  awsRecordBytes: 1_400,
  azureRecordBytes: 2_900,
  gcpRecordBytes: 1_700,
  /** gzip ratio of JSON audit logs at rest (CloudTrail's S3 objects, the Firehose lake). */
  compressionRatio: 10,
  /**
   * Share of CloudTrail events the EventBridge pattern (compiled from the rule) lets through to the
   * security account: the seed rule's three IAM calls are a tiny part of management events.
   */
  awsPatternPassRate: 0.0005,
  /** Share of all events that match the rule (sensitive calls), and alerts left after suppression. */
  matchRate: 0.0005,
  alertsPerMatch: 0.3,
  /** DynamoDB write units per match: occurrence put, group create/update, outbox lease and SENT (items < 4 KB). */
  writeUnitsPerMatch: 8,
  /** E-mail subscribers of the alerts topic. */
  emailSubscribers: 3,
  /**
   * Kinesis, as the stack deploys it (lib/constructs/ingest-stream.ts): provisioned streams (Azure, GCP),
   * records per detect invocation (batch size 100); shards sized for the peak.
   */
  kinesisBatchSize: 100,
  kinesisStreams: 2,
  /** Peak-to-average ratio the provisioned shard count must absorb. */
  peakToAverage: 3,
  /** Detect function memory (MB, the stack's 1024) and fixed time per invocation besides the records (ms). */
  lambdaMemoryMb: 1024,
  lambdaFixedMsPerInvocation: 15,
  /**
   * Lambda is arm64 in the stack; the per-record times come from this benchmark machine (x86-64), assumed
   * to hold on Graviton within the precision of this model.
   */
  armSpeedFactor: 1,
  /** Function log bytes per invocation (one summary line, EMF metrics). */
  logBytesPerInvocation: 2_000,
  /** Sweep: runs a month (every 5 minutes) and hourly partitions each query reads (window + lag + catch-up). */
  sweepRunsPerMonth: (30 * 24 * 60) / 5,
  sweepPartitionsPerQuery: 2,
  /** Months the lake keeps (S3 storage is this many months of data). */
  lakeRetentionMonths: 12,
} as const;

/** Per-record detect time in µs, as measured (`npm run bench`); these defaults are a recent run's. */
export interface MeasuredDurations {
  /** Kinesis path per record, no pre-filter (Azure and GCP averaged). */
  readonly kinesisUsPerRecord: number;
  /** Kinesis path per record behind the literal pre-filter. */
  readonly kinesisPrefilteredUsPerRecord: number;
}

export const DEFAULT_DURATIONS: MeasuredDurations = {
  kinesisUsPerRecord: 12,
  kinesisPrefilteredUsPerRecord: 3.5,
};

// ---------------------------------------------------------------------------------------------------------

const GB = 1e9;
const HOURS_PER_MONTH = 730;

interface Line {
  readonly item: string;
  readonly monthly: number;
}

function linesFor(org: Organization, durations: MeasuredDurations, prefilter: boolean): Line[] {
  const a = ASSUMPTIONS;
  const p = PRICES;
  const kinesisRecords = org.azureEvents + org.gcpEvents;
  const kinesisBytes = org.azureEvents * a.azureRecordBytes + org.gcpEvents * a.gcpRecordBytes;
  const allEvents = org.awsEvents + kinesisRecords;
  const bridgeEvents = org.awsEvents * a.awsPatternPassRate;
  const matches = allEvents * a.matchRate;
  const alerts = matches * a.alertsPerMatch;

  // Lambda: Kinesis batches, plus one invocation per EventBridge event.
  const usPerRecord =
    (prefilter ? durations.kinesisPrefilteredUsPerRecord : durations.kinesisUsPerRecord) * a.armSpeedFactor;
  const kinesisInvocations = kinesisRecords / a.kinesisBatchSize;
  const kinesisSeconds =
    kinesisInvocations * (a.lambdaFixedMsPerInvocation / 1e3) + (kinesisRecords * usPerRecord) / 1e6;
  const bridgeSeconds = bridgeEvents * (a.lambdaFixedMsPerInvocation / 1e3);
  const gbSeconds = (kinesisSeconds + bridgeSeconds) * (a.lambdaMemoryMb / 1024);
  const invocations = kinesisInvocations + bridgeEvents + a.sweepRunsPerMonth;

  // Firehose: 5 KB billing steps per record.
  const firehoseGb =
    (org.azureEvents * Math.ceil(a.azureRecordBytes / 5_000) * 5_000 +
      org.gcpEvents * Math.ceil(a.gcpRecordBytes / 5_000) * 5_000) /
    GB;

  // Athena sweep over hourly partitions of CloudTrail's bucket and the lake (gzipped JSON).
  const hourlyCompressedBytes =
    (org.awsEvents * a.awsRecordBytes + kinesisBytes) / a.compressionRatio / HOURS_PER_MONTH;
  const perQueryBytes = Math.max(10e6, hourlyCompressedBytes * a.sweepPartitionsPerQuery);
  const athena = (a.sweepRunsPerMonth * perQueryBytes * p.athenaPerTbScanned) / 1e12;

  return [
    {
      item: 'EventBridge (CloudTrail events the pattern forwards)',
      monthly: (bridgeEvents / 1e6) * p.eventBridgePerMillionEvents,
    },
    {
      item: 'Lambda (detect, redrive, sweep)',
      monthly: gbSeconds * p.lambdaPerGbSecond + (invocations / 1e6) * p.lambdaPerMillionRequests,
    },
    {
      item: 'Kinesis Data Streams, provisioned (2 streams, shards for the peak)',
      monthly: kinesisProvisioned(org),
    },
    { item: 'Firehose (Kinesis → S3 lake)', monthly: firehoseGb * p.firehosePerGbIngested },
    {
      item: 'S3 lake storage (gzipped, retention months)',
      monthly: ((kinesisBytes / a.compressionRatio) * a.lakeRetentionMonths * p.s3PerGbMonth) / GB,
    },
    {
      item: 'DynamoDB writes (matches only)',
      monthly: ((matches * a.writeUnitsPerMatch) / 1e6) * p.dynamoDbPerMillionWriteUnits,
    },
    {
      item: 'SNS (publishes + e-mails)',
      monthly:
        (alerts / 1e6) * p.snsPerMillionPublishes +
        ((alerts * a.emailSubscribers) / 1e5) * p.snsPerHundredThousandEmails,
    },
    { item: 'Athena sweep (hourly partitions)', monthly: athena },
    {
      item: 'CloudWatch Logs (function logs)',
      monthly: ((invocations * a.logBytesPerInvocation) / GB) * p.logsPerGbIngested,
    },
  ];
}

/** On-demand Kinesis for comparison: stream-hours, ingest, and reads by two consumers (detect, Firehose). */
function kinesisOnDemand(org: Organization): number {
  const a = ASSUMPTIONS;
  const gb = (org.azureEvents * a.azureRecordBytes + org.gcpEvents * a.gcpRecordBytes) / GB;
  return (
    a.kinesisStreams * HOURS_PER_MONTH * PRICES.kinesisOnDemandStreamHour +
    gb * PRICES.kinesisOnDemandPerGbIngested +
    2 * gb * PRICES.kinesisOnDemandPerGbRetrieved
  );
}

/** Provisioned Kinesis: shards for the peak (1 MB/s or 1,000 records/s each, per stream). */
function kinesisProvisioned(org: Organization): number {
  const a = ASSUMPTIONS;
  const seconds = HOURS_PER_MONTH * 3600;
  const streams = [
    { records: org.azureEvents, bytes: a.azureRecordBytes },
    { records: org.gcpEvents, bytes: a.gcpRecordBytes },
  ];
  let cost = 0;
  for (const stream of streams) {
    const peakRecords = (stream.records / seconds) * a.peakToAverage;
    const shards = Math.max(1, Math.ceil(Math.max((peakRecords * stream.bytes) / 1e6, peakRecords / 1000)));
    cost += shards * HOURS_PER_MONTH * PRICES.kinesisShardHour;
    cost += ((stream.records * Math.ceil(stream.bytes / 25_000)) / 1e6) * PRICES.kinesisPerMillionPutUnits;
  }
  return cost;
}

/** Athena per month for one organization under a partition layout: how much of the data a query reads. */
function athenaFor(org: Organization, hoursPerQuery: number): number {
  const a = ASSUMPTIONS;
  const monthlyCompressed =
    (org.awsEvents * a.awsRecordBytes +
      org.azureEvents * a.azureRecordBytes +
      org.gcpEvents * a.gcpRecordBytes) /
    a.compressionRatio;
  const perQuery = Math.max(10e6, (monthlyCompressed / HOURS_PER_MONTH) * hoursPerQuery);
  return (a.sweepRunsPerMonth * perQuery * PRICES.athenaPerTbScanned) / 1e12;
}

function dollars(value: number): string {
  if (value >= 100) return `$${value.toFixed(0)}`;
  if (value >= 1) return `$${value.toFixed(2)}`;
  return `$${value.toFixed(3)}`;
}

export function costModel(durations: MeasuredDurations = DEFAULT_DURATIONS): string {
  const sections: string[] = [];
  const summaryRows: string[][] = [];
  for (const org of ORGANIZATIONS) {
    // The default deployment (`literalPrefilter` off); the pre-filter only changes the Lambda line.
    const lines = linesFor(org, durations, false);
    const total = lines.reduce((sum, line) => sum + line.monthly, 0);
    const withPrefilter = linesFor(org, durations, true).reduce((sum, line) => sum + line.monthly, 0);
    const events = org.awsEvents + org.azureEvents + org.gcpEvents;
    const biggest = [...lines].sort((x, y) => y.monthly - x.monthly)[0] as Line;
    summaryRows.push([
      org.name,
      `${(events / 1e6).toLocaleString('en-US')} M`,
      dollars(total),
      dollars(withPrefilter),
      dollars((total / events) * 1e6),
      `${biggest.item} (${((100 * biggest.monthly) / total).toFixed(0)}%)`,
    ]);
    sections.push(
      `**${org.name}**: ${(org.awsEvents / 1e6).toLocaleString('en-US')} M CloudTrail, ` +
        `${(org.azureEvents / 1e6).toLocaleString('en-US')} M Azure, ${(org.gcpEvents / 1e6).toLocaleString('en-US')} M GCP events a month`,
      '',
      table(
        ['line item', 'per month', 'share'],
        [
          ...lines.map((line) => [
            line.item,
            dollars(line.monthly),
            `${((100 * line.monthly) / total).toFixed(1)}%`,
          ]),
          ['**total**', `**${dollars(total)}**`, '100%'],
          ['(Kinesis on-demand instead, for comparison)', dollars(kinesisOnDemand(org)), ''],
        ],
      ),
      '',
    );
  }
  const layouts = table(
    [
      'partition layout of the lake and the trail bucket',
      ...ORGANIZATIONS.map((org) => org.name.split(' ')[0] as string),
    ],
    [
      [
        'hourly, query reads the last 2 partitions (the design)',
        ...ORGANIZATIONS.map((org) => dollars(athenaFor(org, 2))),
      ],
      [
        'daily, query reads today (and yesterday near midnight)',
        ...ORGANIZATIONS.map((org) => dollars(athenaFor(org, 24))),
      ],
      [
        'none: every query reads the month',
        ...ORGANIZATIONS.map((org) => dollars(athenaFor(org, HOURS_PER_MONTH))),
      ],
    ],
  );
  return [
    table(
      [
        'organization',
        'events / month',
        'per month',
        'with `literalPrefilter` on',
        'per million events',
        'biggest line item',
      ],
      summaryRows,
    ),
    '',
    `Lambda durations used: ${durations.kinesisUsPerRecord.toFixed(1)} µs per Kinesis record as deployed by ` +
      `default (${durations.kinesisPrefilteredUsPerRecord.toFixed(1)} µs with \`literalPrefilter\` on), measured by this benchmark, ` +
      `plus ${ASSUMPTIONS.lambdaFixedMsPerInvocation} ms per invocation, ${ASSUMPTIONS.lambdaMemoryMb} MB, ` +
      `batches of ${ASSUMPTIONS.kinesisBatchSize}.`,
    '',
    ...sections,
    'Athena sweep per month by partition layout (every 5 minutes, gzipped JSON, 10 MB minimum per query):',
    '',
    layouts,
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(costModel());
}
