import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Duration, RemovalPolicy, Stage } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  PRECOMPILED_RULES_FILE,
  precompileRuleDirectory,
  serializeRuleDocuments,
} from '../../lambda/engine/rules';
import { acknowledge } from '../nag';
import { PROJECT_ROOT } from '../project';
import type { DeadLetterQueue } from './dead-letter-queue';

/** Powertools reads these; every function of the detector reports under one service and namespace. */
export const POWERTOOLS_SERVICE_NAME = 'abnormal-cloud-api-calls';
export const POWERTOOLS_METRICS_NAMESPACE = 'AbnormalCloudApiCalls';

/** Where the bundle's rules live inside the Lambda task root (see lambda/README.md, `RULES_DIR`). */
export const BUNDLED_RULES_DIR = '/var/task/rules';

/**
 * Provided by the Node.js 22 runtime, so left out of the bundle: it keeps each bundle far below the
 * 400 KB budget and cold starts short. The price is that the SDK version in Lambda is the runtime's, not
 * the lockfile's; the handlers use only long-stable SDK v3 client APIs.
 */
export const RUNTIME_PROVIDED_MODULES: readonly string[] = ['@aws-sdk/*'];

/**
 * Lets an ES-module bundle load the CommonJS dependencies esbuild inlines (they call `require`), which
 * the ESM output format cannot do on its own.
 */
const ESM_REQUIRE_SHIM =
  "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);";

/** What a function runs when bundling is off (`bundling: false`): fails loudly if ever deployed. */
const STUB_CODE =
  "exports.handler = async () => { throw new Error('synthesized with bundling=false: redeploy with bundling'); };";

export interface HandlerFunctionProps {
  /** The handler's TypeScript entry file, relative to the repository root (`lambda/handlers/detect.ts`). */
  readonly entry: string;
  /** Shown in the Lambda console. */
  readonly description: string;
  /**
   * Encrypts the function's log group.
   */
  readonly logEncryptionKey: kms.IKey;
  /** Receives asynchronous invocations that failed every retry. */
  readonly deadLetterQueue: DeadLetterQueue;
  /**
   * Environment variables besides the Powertools ones this construct sets.
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * @default Duration.seconds(60)
   */
  readonly timeout?: Duration;
  /**
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Copy the `*.yaml` rule files (not `*.tests.yaml`) of this folder into `rules/` next to the bundle, with
   * `rules.json`, the same rules precompiled (see `lambda/engine/rules/precompiled.ts`), and set
   * `RULES_DIR` to it. The rules are validated when the function is bundled: a bad one fails the synth.
   * An absolute path.
   * @default - no rules in the bundle
   */
  readonly rulesDirectory?: string;
  /**
   * Bundle the entry with esbuild. `false` deploys an inline stub instead: only for tests and quick
   * infrastructure-only synths, since the stub throws on every invocation.
   * @default true
   */
  readonly bundling?: boolean;
  /**
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the log group when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/**
 * One Lambda function of the detector, built the same way for every handler: Node.js 22 on arm64,
 * esbuild-bundled locally (no Docker), minified with source maps, its own KMS-encrypted log group with a
 * retention, Powertools settings, and a dead-letter queue for asynchronous invocations.
 *
 * The execution role starts empty (no AWS managed policy): it may write to its own log group and its
 * dead-letter queue, and the stack adds each data permission with `allow`, naming resources and actions.
 */
export class HandlerFunction extends Construct {
  public readonly function: nodejs.NodejsFunction;
  public readonly logGroup: logs.LogGroup;
  public readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: HandlerFunctionProps) {
    super(scope, id);
    const bundling = props.bundling ?? true;
    const entry = path.resolve(PROJECT_ROOT, props.entry);
    if (bundling && !existsSync(entry)) {
      throw new Error(`HandlerFunctionProps.entry: ${props.entry} does not exist (bundling is on)`);
    }
    if (props.rulesDirectory !== undefined && !path.isAbsolute(props.rulesDirectory)) {
      throw new Error('HandlerFunctionProps.rulesDirectory must be an absolute path');
    }

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      encryptionKey: props.logEncryptionKey,
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${props.entry}`,
    });
    // The log group ARN ends in `:*`, which covers its log streams and nothing else.
    this.allow(
      'WriteItsOwnLogGroup',
      ['logs:CreateLogStream', 'logs:PutLogEvents'],
      [this.logGroup.logGroupArn],
    );
    props.deadLetterQueue.grantSend(this.role);

    const environment: Record<string, string> = {
      POWERTOOLS_SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE,
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
      ...(props.rulesDirectory === undefined ? {} : { RULES_DIR: BUNDLED_RULES_DIR }),
      ...props.environment,
    };

    const common: nodejs.NodejsFunctionProps = {
      description: props.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(60),
      environment,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      role: this.role,
      deadLetterQueue: props.deadLetterQueue.queue,
    };

    const rules =
      bundling && props.rulesDirectory !== undefined
        ? {
            directory: props.rulesDirectory,
            precompiled: stagePrecompiledRules(props.rulesDirectory, precompiledRulesFolder(this)),
          }
        : undefined;
    this.function = bundling
      ? new nodejs.NodejsFunction(this, 'Function', {
          ...common,
          entry,
          handler: 'handler',
          projectRoot: PROJECT_ROOT,
          depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
          bundling: bundlingOptions(rules),
        })
      : new nodejs.NodejsFunction(this, 'Function', {
          ...common,
          code: lambda.Code.fromInline(STUB_CODE),
          handler: 'index.handler',
        });

    acknowledge(
      this.role,
      'NIST.800.53.R5-IAMNoInlinePolicy',
      'The policy belongs to this one execution role, is created and deleted with it and lists explicit actions on ' +
        'named resources; an inline policy keeps that one-to-one (a managed policy could be attached elsewhere).',
    );
    acknowledge(
      this.function,
      'AwsSolutions-L1',
      'Node.js 22 is pinned on purpose: it is the runtime the bundle targets (esbuild target node22) and the ' +
        'handlers are tested on; moving to a newer runtime is a reviewed change, not an automatic one.',
    );
    acknowledge(
      this.function,
      'NIST.800.53.R5-LambdaInsideVPC',
      'The function reaches only AWS APIs (DynamoDB, SNS, S3, SQS, KMS, Secrets Manager) over TLS with IAM, and ' +
        "Slack's public webhook; a VPC would add NAT or six interface endpoints and no resource to protect.",
    );
    acknowledge(
      this.function,
      'NIST.800.53.R5-LambdaConcurrency',
      'Concurrency is bounded by the event sources (Kinesis shards x parallelization factor, EventBridge retries); ' +
        'reserved concurrency would fail deployment in accounts with the default quota and throttle alert bursts.',
    );
  }

  /** Adds one statement to the execution role: these actions, on these resources only. */
  public allow(
    sid: string,
    actions: readonly string[],
    resources: readonly string[],
    conditions?: Readonly<Record<string, Record<string, unknown>>>,
  ): void {
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid,
        actions: [...actions],
        resources: [...resources],
        ...(conditions === undefined ? {} : { conditions: { ...conditions } }),
      }),
    );
  }
}

/** The rules to put in the bundle: the folder, and its precompiled `rules.json` staged on this machine. */
interface BundledRules {
  readonly directory: string;
  readonly precompiled: string;
}

function bundlingOptions(rules: BundledRules | undefined): nodejs.BundlingOptions {
  return {
    forceDockerBundling: false,
    format: nodejs.OutputFormat.ESM,
    target: 'node22',
    mainFields: ['module', 'main'],
    banner: ESM_REQUIRE_SHIM,
    minify: true,
    sourceMap: true,
    sourcesContent: false,
    externalModules: [...RUNTIME_PROVIDED_MODULES],
    tsconfig: path.join(PROJECT_ROOT, 'tsconfig.json'),
    logLevel: nodejs.LogLevel.WARNING,
    commandHooks: {
      beforeBundling: () => [],
      beforeInstall: () => [],
      afterBundling: (_inputDir: string, outputDir: string): string[] =>
        rules === undefined ? [] : copyRulesCommands(rules.directory, outputDir, rules.precompiled),
    },
  };
}

/**
 * Shell commands (bash, Linux) that copy the rule files, not their tests, into the bundle, and the
 * precompiled rules file, when given, as `rules/rules.json`.
 */
export function copyRulesCommands(rulesDirectory: string, outputDir: string, precompiled?: string): string[] {
  const target = path.join(outputDir, 'rules');
  return [
    `mkdir -p ${shellQuote(target)}`,
    `find ${shellQuote(rulesDirectory)} -maxdepth 1 -type f -name '*.yaml' ! -name '*.tests.yaml' -exec cp {} ${shellQuote(target)} ';'`,
    ...(precompiled === undefined
      ? []
      : [`cp ${shellQuote(precompiled)} ${shellQuote(path.join(target, PRECOMPILED_RULES_FILE))}`]),
  ];
}

/**
 * Precompiles the rules of `rulesDirectory` (validating them: a bad rule throws, naming its file and
 * line) and writes the result where the bundling commands copy it from: a file named by its content in
 * `folder`, so syntheses with the same rules share one file instead of piling up copies. Returns its path.
 *
 * `folder` must be the synthesizing user's own (the app's output directory): what is in it goes into the
 * deployed function, so a shared folder such as the system's temporary one would let another local user
 * plant rules. The file is written every time (aside, then renamed over any old one), never trusted
 * because it exists.
 */
export function stagePrecompiledRules(rulesDirectory: string, folder: string): string {
  const text = serializeRuleDocuments(precompileRuleDirectory(rulesDirectory));
  const file = path.join(folder, `${createHash('sha256').update(text).digest('hex').slice(0, 32)}.json`);
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  // Written aside and renamed, so a concurrent synth never copies a half-written file.
  const partial = `${file}.${process.pid}.partial`;
  writeFileSync(partial, text, { mode: 0o600 });
  renameSync(partial, file);
  return file;
}

/** `precompiled-rules` in the app's output directory (`cdk.out`), which only the synthesizing user writes. */
function precompiledRulesFolder(scope: Construct): string {
  const stage = Stage.of(scope);
  if (stage === undefined) throw new Error('HandlerFunction must be created inside a CDK App');
  return path.join(stage.outdir, 'precompiled-rules');
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}
