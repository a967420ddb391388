// The only way the app calls the HTTP API: openapi-fetch over the types generated from
// /openapi.json (src/generated/api.d.ts; `npm run gen:api`).
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "../generated/api";

export type Schemas = components["schemas"];
export type Api = ReturnType<typeof createClient<paths>>;

export function makeApi(baseUrl: string, token: () => Promise<string | undefined>): Api {
  const client = createClient<paths>({ baseUrl });
  const auth: Middleware = {
    async onRequest({ request }) {
      const t = await token();
      if (t) request.headers.set("Authorization", t);
      return request;
    },
  };
  client.use(auth);
  return client;
}

export interface Problem {
  title?: string;
  status?: number;
  detail?: string;
  errors?: { field: string; message: string }[];
}

/** The body of an openapi-fetch answer, or throw its problem as an Error people can read. */
export function ok<T>(res: { data?: T; error?: unknown; response: Response }): T {
  if (res.error !== undefined || res.data === undefined) {
    const p = (res.error ?? {}) as Problem;
    throw new Error(p.detail ?? p.title ?? `HTTP ${res.response.status}`);
  }
  return res.data;
}

export function newId(): string {
  return crypto.randomUUID();
}
