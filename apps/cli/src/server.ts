import 'reflect-metadata';
import { type DynamicModule, type INestApplication, Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { lowerThisProcess, setBackgroundNice } from '#he-core';
import { openDatabase, privateDir } from '#persistence';
import {
  type AppConfig,
  ParticipantsStore,
  PinoNestLogger,
  PlatformModule,
  QueueService,
  RemotePrincipalResolver,
  createLogger,
  ensureRedis,
  evictionPolicyWarning,
  maskedConfig,
} from '#platform';
import { appModules, type AppName } from './apps.js';

export interface ServerHandle {
  url: string;
  app: INestApplication;
  config: AppConfig;
  dataSource: DataSource;
  queues: QueueService;
  adminTokenPath: string;
  close(): Promise<void>;
}

export interface StartOptions {
  config: AppConfig;
  apps: AppName[];
  /** 0 picks a free port. */
  port?: number;
  /** One-line messages for people (the CLI prints them on stderr). */
  say?: (line: string) => void;
  logger?: Logger;
}

/** Starts the selected apps in this process, on one HTTP port, sharing one database and one Redis. */
export async function startServer(opts: StartOptions): Promise<ServerHandle> {
  const { config } = opts;
  const say = opts.say ?? ((l: string) => process.stderr.write(l + '\n'));
  const logger = opts.logger ?? createLogger(config.LOG_LEVEL);
  logger.debug({ config: maskedConfig(config) }, 'configuration');
  privateDir(config.dataDir); // 0700: it holds the admin token, the ledger key and (SQLite) every row
  // background work (HE and PSI threads; a process that serves only workers) yields the CPU to API reads
  setBackgroundNice(config.BACKGROUND_NICE);
  if (opts.apps.every((a) => a === 'worker')) lowerThisProcess(config.BACKGROUND_NICE);
  const redis = await ensureRedis(config.REDIS_URL, config.dataDir, config.REDIS_AUTOSTART, say);
  const warning = await evictionPolicyWarning(config.REDIS_URL);
  if (warning) logger.warn(warning);
  const dataSource = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.dataDir, schema: config.DATABASE_SCHEMA });
  const queues = QueueService.redis(config.REDIS_URL, config.QUEUE_PREFIX);
  // An app deployed apart from the broker checks bearer tokens with the broker.
  const principals = !opts.apps.includes('broker') && config.BROKER_URL ? new RemotePrincipalResolver(config.BROKER_URL) : undefined;
  const deps = { config, dataSource, queues, logger, ...(principals ? { principals } : {}) };

  @Module({})
  class RootModule {
    static build(): DynamicModule {
      return { module: RootModule, imports: [PlatformModule.forRoot(deps), ...appModules(opts.apps, deps)] };
    }
  }

  let app: NestExpressApplication | undefined;
  try {
    app = await NestFactory.create<NestExpressApplication>(RootModule.build() as unknown as Type<unknown>, {
      logger: new PinoNestLogger(logger),
      bodyParser: false,
      abortOnError: false,
    });
    // No body is parsed here: JSON bodies are read by JsonBodyInterceptor once the rate limit, the token and the
    // role have been checked, each route with its own limit; row imports and keysets stream theirs (@RawBody).
    const doc = SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('Trusted data space')
        .setDescription(`Apps in this process: ${opts.apps.join(', ')}`)
        .setVersion('0.1.0')
        .addBearerAuth()
        .build(),
    );
    SwaggerModule.setup('docs', app, doc, { jsonDocumentUrl: 'docs/openapi.json' });
    const admin = await new ParticipantsStore(dataSource).ensureAdmin(config.dataDir);
    if (admin.created) say(`admin token written to ${admin.path}`);
    await app.listen(opts.port ?? config.PORT, config.HOST);
    // Clients (fetch) keep connections alive; Node's 5 s default closes them under a client that is about to
    // reuse one (ECONNRESET after a long local step such as key generation). Outlive common client pools.
    const http = app.getHttpServer() as { keepAliveTimeout: number; headersTimeout: number };
    http.keepAliveTimeout = 65_000;
    http.headersTimeout = 66_000;
    const addr = app.getHttpServer().address() as { port: number };
    const url = `http://${config.HOST}:${addr.port}`;
    const handle: ServerHandle = {
      url,
      app,
      config,
      dataSource,
      queues,
      adminTokenPath: admin.path,
      close: async () => {
        // stop taking work and let running jobs finish (or hand them back) while their HE pools and the
        // database are still open; then the HTTP server and the modules close
        await queues.stopWorkers(config.SHUTDOWN_GRACE_MS);
        await app!.close();
        await queues.close();
        await dataSource.destroy();
        await redis.stop();
      },
    };
    return handle;
  } catch (e) {
    await app?.close().catch(() => undefined);
    await queues.close();
    await dataSource.destroy();
    await redis.stop();
    throw e;
  }
}
