// Run-time configuration: /config.json, written by whoever serves the built app
// (devstack/web.py locally; the static deployment in the cloud). The build itself is the
// same for every environment.
export interface WebConfig {
  apiUrl: string; // e.g. http://127.0.0.1:8000
  wsUrl: string; // e.g. ws://127.0.0.1:8001
  cognitoEndpoint?: string; // the emulator locally; https://cognito-idp.<region>.amazonaws.com otherwise
  local?: boolean; // the local stack: any confirmation code is accepted
}

export interface AuthConfig {
  region: string;
  user_pool_id: string;
  user_pool_client_id: string;
}

let cached: Promise<WebConfig> | undefined;

export function loadConfig(): Promise<WebConfig> {
  cached ??= fetch("/config.json", { cache: "no-store" }).then((r) => {
    if (!r.ok) throw new Error(`config.json: ${r.status}`);
    return r.json() as Promise<WebConfig>;
  });
  return cached;
}
