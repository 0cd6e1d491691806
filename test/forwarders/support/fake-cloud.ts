/**
 * One HTTP server on 127.0.0.1 standing in for everything outside AWS Kinesis that a forwarder talks to:
 * the App Service identity endpoint and IMDS (Azure managed identity tokens), the GCP metadata server (ID
 * and access tokens), STS (`AssumeRoleWithWebIdentity`, answering the SDK's XML), Azure Blob Storage
 * (Put Blob) and Cloud Storage (simple upload). Every request is recorded; behaviours can be switched per
 * test (STS failures, credential lifetimes, refused tokens).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
}

export interface StsFailure {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

export const APP_SERVICE_IDENTITY_HEADER = 'app-service-identity-header-value';
export const TEST_ROLE_ARN = 'arn:aws:iam::111122223333:role/AbnormalForwarder';

/** An unsigned JWT with these claims: enough for code that only reads `exp`. */
export function fakeJwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}.${Buffer.from('signature').toString('base64url')}`;
}

export class FakeCloud {
  readonly requests: RecordedRequest[] = [];
  /** Blobs and GCS objects by path (`/blob/<container>/<name>`, `<bucket>/<name>`). */
  readonly blobs = new Map<string, Buffer>();
  readonly objects = new Map<string, Buffer>();
  /** The STS answer's `Expiration`: now (by `clock`) plus this. */
  credentialsLifetimeMs = 60 * 60_000;
  /** The clock STS uses for `Expiration`; tests inject theirs. */
  clock: () => number = Date.now;
  /** When set, STS answers this error instead of credentials. */
  stsFailure: StsFailure | undefined;
  /** When set, identity endpoints answer this status. */
  identityFailureStatus: number | undefined;
  /** Omit `Metadata-Flavor` from metadata answers (an impostor server). */
  omitMetadataFlavor = false;
  /** Milliseconds STS waits before answering, to hold concurrent callers in flight. */
  stsDelayMs = 0;
  /** Status for Put Blob / GCS uploads (201/200 by default). */
  storageStatus: number | undefined;
  #issued = 0;
  readonly #server: Server;
  #url = '';

  private constructor() {
    this.#server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const recorded: RecordedRequest = {
          method: request.method ?? 'GET',
          url: new URL(request.url ?? '/', this.#url),
          headers: request.headers,
          body: Buffer.concat(chunks),
        };
        this.requests.push(recorded);
        this.#route(recorded, response).catch((error: unknown) => {
          response.writeHead(500).end(String(error));
        });
      });
    });
  }

  static async start(): Promise<FakeCloud> {
    const cloud = new FakeCloud();
    await new Promise<void>((resolve, reject) => {
      cloud.#server.once('error', reject);
      cloud.#server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = cloud.#server.address() as AddressInfo;
    cloud.#url = `http://127.0.0.1:${port}`;
    return cloud;
  }

  get url(): string {
    return this.#url;
  }
  /** `IDENTITY_ENDPOINT` as App Service sets it. */
  get identityEndpoint(): string {
    return `${this.#url}/msi/token`;
  }
  /** `STS_ENDPOINT`. */
  get stsEndpoint(): string {
    return `${this.#url}/sts`;
  }
  /** `GCE_METADATA_HOST`. */
  get metadataHost(): string {
    return this.#url.slice('http://'.length);
  }
  /** What STS was asked, in order. */
  get stsRequests(): URLSearchParams[] {
    return this.requests
      .filter((request) => request.method === 'POST' && request.url.pathname.startsWith('/sts'))
      .map((request) => new URLSearchParams(request.body.toString('utf8')));
  }
  /** The web identity tokens this server has issued, so tests can check STS got one of them. */
  tokenFor(audience: string, issuer: 'azure' | 'gcp', serial: number): string {
    return issuer === 'azure'
      ? `azure-token.${Buffer.from(audience).toString('base64url')}.${serial}`
      : fakeJwt({
          aud: audience,
          azp: '112233445566778899001',
          iss: 'https://accounts.google.com',
          sub: '112233445566778899001',
          exp: Math.floor(this.clock() / 1000) + 3600,
          n: serial,
        });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.closeAllConnections();
      this.#server.close(() => resolve());
    });
  }

  async #route(request: RecordedRequest, response: ServerResponse): Promise<void> {
    const path = request.url.pathname;
    if (request.method === 'POST' && path.startsWith('/sts')) return this.#sts(request, response);
    if (path === '/msi/token') return this.#appService(request, response);
    if (path === '/metadata/identity/oauth2/token') return this.#imds(request, response);
    if (path.startsWith('/computeMetadata/v1/instance/service-accounts/default/')) {
      return this.#metadata(request, response);
    }
    if (request.method === 'PUT' && path.startsWith('/blob/')) return this.#putBlob(request, response);
    if (request.method === 'POST' && path.startsWith('/upload/storage/v1/b/'))
      return this.#upload(request, response);
    response.writeHead(404).end('not found');
  }

  #azureToken(request: RecordedRequest, response: ServerResponse, version: string): void {
    const resource = request.url.searchParams.get('resource');
    if (request.url.searchParams.get('api-version') !== version || resource === null) {
      response.writeHead(400, { 'Content-Type': 'application/json' }).end('{"error":"invalid_request"}');
      return;
    }
    if (this.identityFailureStatus !== undefined) {
      response
        .writeHead(this.identityFailureStatus, { 'Content-Type': 'application/json' })
        .end('{"error":"invalid_request","error_description":"Identity not found"}');
      return;
    }
    this.#issued += 1;
    const expiresOn = Math.floor(this.clock() / 1000) + 86_400;
    response.writeHead(200, { 'Content-Type': 'application/json' }).end(
      JSON.stringify({
        access_token: this.tokenFor(resource, 'azure', this.#issued),
        expires_on: String(expiresOn),
        resource,
        token_type: 'Bearer',
        ...(request.url.searchParams.has('client_id')
          ? { client_id: request.url.searchParams.get('client_id') }
          : {}),
      }),
    );
  }

  #appService(request: RecordedRequest, response: ServerResponse): void {
    if (request.headers['x-identity-header'] !== APP_SERVICE_IDENTITY_HEADER) {
      response.writeHead(401).end('{"error":"missing X-IDENTITY-HEADER"}');
      return;
    }
    this.#azureToken(request, response, '2019-08-01');
  }

  #imds(request: RecordedRequest, response: ServerResponse): void {
    if (request.headers.metadata !== 'true') {
      response
        .writeHead(400)
        .end('{"error":"invalid_request","error_description":"Required metadata header not specified"}');
      return;
    }
    this.#azureToken(request, response, '2018-02-01');
  }

  #metadata(request: RecordedRequest, response: ServerResponse): void {
    if (request.headers['metadata-flavor'] !== 'Google') {
      response.writeHead(403).end('Missing Metadata-Flavor:Google header.');
      return;
    }
    if (this.identityFailureStatus !== undefined) {
      response.writeHead(this.identityFailureStatus).end('service account not found');
      return;
    }
    const headers: Record<string, string> = this.omitMetadataFlavor ? {} : { 'Metadata-Flavor': 'Google' };
    this.#issued += 1;
    if (request.url.pathname.endsWith('/identity')) {
      const audience = request.url.searchParams.get('audience');
      if (audience === null || request.url.searchParams.get('format') !== 'full') {
        response.writeHead(400, headers).end('non-empty audience parameter required');
        return;
      }
      response
        .writeHead(200, { ...headers, 'Content-Type': 'text/html' })
        .end(this.tokenFor(audience, 'gcp', this.#issued));
      return;
    }
    if (request.url.pathname.endsWith('/token')) {
      response.writeHead(200, { ...headers, 'Content-Type': 'application/json' }).end(
        JSON.stringify({
          access_token: `gcs-access-token-${this.#issued}`,
          expires_in: 3599,
          token_type: 'Bearer',
        }),
      );
      return;
    }
    response.writeHead(404, headers).end('not found');
  }

  async #sts(request: RecordedRequest, response: ServerResponse): Promise<void> {
    const form = new URLSearchParams(request.body.toString('utf8'));
    if (this.stsDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.stsDelayMs));
    const failure =
      this.stsFailure ??
      (form.get('Action') !== 'AssumeRoleWithWebIdentity'
        ? { status: 400, code: 'InvalidAction', message: `unexpected action ${form.get('Action')}` }
        : request.headers.authorization !== undefined
          ? { status: 400, code: 'InvalidRequest', message: 'AssumeRoleWithWebIdentity must not be signed' }
          : undefined);
    if (failure !== undefined) {
      response
        .writeHead(failure.status, { 'Content-Type': 'text/xml' })
        .end(
          `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>` +
            `<Code>${failure.code}</Code><Message>${failure.message}</Message></Error>` +
            `<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>`,
        );
      return;
    }
    const serial = this.stsRequests.length;
    const expiration = new Date(this.clock() + this.credentialsLifetimeMs).toISOString();
    response.writeHead(200, { 'Content-Type': 'text/xml' }).end(
      `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>subject</SubjectFromWebIdentityToken>
    <Audience>audience</Audience>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::111122223333:assumed-role/AbnormalForwarder/${form.get('RoleSessionName')}</Arn>
      <AssumedRoleId>AROAEXAMPLE:${form.get('RoleSessionName')}</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <SessionToken>session-token-${serial}</SessionToken>
      <SecretAccessKey>secret-${serial}</SecretAccessKey>
      <Expiration>${expiration}</Expiration>
      <AccessKeyId>ASIAFAKE${String(serial).padStart(8, '0')}</AccessKeyId>
    </Credentials>
    <Provider>fake</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>11111111-1111-1111-1111-111111111111</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>`,
    );
  }

  #putBlob(request: RecordedRequest, response: ServerResponse): void {
    if (
      !request.headers.authorization?.startsWith('Bearer ') ||
      request.headers['x-ms-blob-type'] !== 'BlockBlob'
    ) {
      response.writeHead(403).end('<Error><Code>AuthenticationFailed</Code></Error>');
      return;
    }
    if (this.storageStatus !== undefined) {
      response.writeHead(this.storageStatus).end('<Error><Code>ServerBusy</Code></Error>');
      return;
    }
    const key = request.url.pathname;
    if (this.blobs.has(key) && request.headers['if-none-match'] === '*') {
      response.writeHead(409).end('<Error><Code>BlobAlreadyExists</Code></Error>');
      return;
    }
    this.blobs.set(key, request.body);
    response.writeHead(201).end();
  }

  #upload(request: RecordedRequest, response: ServerResponse): void {
    if (!request.headers.authorization?.startsWith('Bearer ')) {
      response.writeHead(401).end('{"error":{"code":401}}');
      return;
    }
    if (this.storageStatus !== undefined) {
      response.writeHead(this.storageStatus).end('{"error":{"code":503}}');
      return;
    }
    const bucket = decodeURIComponent(request.url.pathname.split('/')[5] ?? '');
    const name = request.url.searchParams.get('name') ?? '';
    const key = `${bucket}/${name}`;
    if (this.objects.has(key) && request.url.searchParams.get('ifGenerationMatch') === '0') {
      response.writeHead(412).end('{"error":{"code":412,"message":"conditionNotMet"}}');
      return;
    }
    this.objects.set(key, request.body);
    response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ bucket, name }));
  }
}
