// Cognito sign-up and sign-in with USER_PASSWORD_AUTH, straight against the user pool's
// JSON API (the emulator locally), with the pool ids from GET /auth/config.
import type { AuthConfig, WebConfig } from "./config";

export interface Session {
  email: string;
  idToken: string;
  refreshToken: string;
  expiresAt: number; // ms
}

export interface Claims {
  sub: string;
  email?: string;
  "custom:user_id"?: string;
  "cognito:groups"?: string[];
  exp: number;
}

const KEY = "summon.session";
const NOTE = "summon.note";

export function decode(token: string): Claims {
  const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(decodeURIComponent(escape(atob(part)))) as Claims;
}

export function userId(session: Session): string {
  const c = decode(session.idToken);
  return c["custom:user_id"] ?? c.sub;
}

export function groups(session: Session): string[] {
  return decode(session.idToken)["cognito:groups"] ?? [];
}

export class Auth {
  constructor(
    private web: WebConfig,
    private pool: AuthConfig,
  ) {}

  private endpoint(): string {
    return this.web.cognitoEndpoint ?? `https://cognito-idp.${this.pool.region}.amazonaws.com/`;
  }

  private async call<T>(target: string, body: Record<string, unknown>): Promise<T> {
    const res = await fetch(this.endpoint(), {
      method: "POST",
      headers: {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": `AWSCognitoIdentityProviderService.${target}`,
      },
      body: JSON.stringify({ ClientId: this.pool.user_pool_client_id, ...body }),
    });
    const data = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok) {
      const kind = String(data.__type ?? "").split("#").pop();
      throw new Error(String(data.message ?? data.Message ?? kind ?? `Cognito ${res.status}`));
    }
    return data as T;
  }

  async signIn(email: string, password: string): Promise<Session> {
    const out = await this.call<{ AuthenticationResult: Record<string, string | number> }>(
      "InitiateAuth",
      { AuthFlow: "USER_PASSWORD_AUTH", AuthParameters: { USERNAME: email, PASSWORD: password } },
    );
    const r = out.AuthenticationResult;
    return save({
      email,
      idToken: String(r.IdToken),
      refreshToken: String(r.RefreshToken),
      expiresAt: Date.now() + Number(r.ExpiresIn ?? 3600) * 1000,
    });
  }

  async signUp(email: string, password: string): Promise<void> {
    await this.call("SignUp", {
      Username: email,
      Password: password,
      UserAttributes: [{ Name: "email", Value: email }],
    });
  }

  async confirm(email: string, code: string): Promise<void> {
    await this.call("ConfirmSignUp", { Username: email, ConfirmationCode: code });
  }

  /** A fresh ID token (after taking a role, or when it is about to expire). */
  async refresh(session: Session): Promise<Session> {
    const out = await this.call<{ AuthenticationResult: Record<string, string | number> }>(
      "InitiateAuth",
      { AuthFlow: "REFRESH_TOKEN_AUTH", AuthParameters: { REFRESH_TOKEN: session.refreshToken } },
    );
    const r = out.AuthenticationResult;
    return save({
      ...session,
      idToken: String(r.IdToken),
      expiresAt: Date.now() + Number(r.ExpiresIn ?? 3600) * 1000,
    });
  }
}

function save(s: Session): Session {
  sessionStorage.setItem(KEY, JSON.stringify(s));
  return s;
}

export function stored(): Session | undefined {
  const raw = sessionStorage.getItem(KEY);
  return raw ? (JSON.parse(raw) as Session) : undefined;
}

/** Sign out here; `note` is shown once on the sign-in screen that follows. */
export function forget(note?: string): void {
  sessionStorage.removeItem(KEY);
  if (note) sessionStorage.setItem(NOTE, note);
}

/** The note left by the last sign-out, once. */
export function takeNote(): string {
  const note = sessionStorage.getItem(NOTE) ?? "";
  sessionStorage.removeItem(NOTE);
  return note;
}
