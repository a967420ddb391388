import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Api } from "../lib/api";
import type { Live, ServerFrame } from "../lib/live";

export interface Ctx {
  api: Api;
  live: Live;
  me: string;
  groups: string[];
  /** Every live frame, and every feed entry caught up after a reconnect. */
  subscribe(fn: (f: ServerFrame) => void): () => void;
  notice(text: string): void;
  /** Stop the socket, forget the session and go back to sign-in (showing `note` there). */
  signOut(note?: string): void;
}

export const AppCtx = createContext<Ctx | null>(null);

export function useCtx(): Ctx {
  const c = useContext(AppCtx);
  if (!c) throw new Error("no app context");
  return c;
}

export const FINAL = new Set(["completed", "cancelled", "expired"]);

export function fmtMoney(m?: { amount: string; currency: string } | null): string {
  return m ? `${m.amount} ${m.currency}` : "";
}
