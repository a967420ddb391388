import { render } from "preact";
import { useState } from "preact/hooks";
import "../lib/ui.css";
import { makeApi, ok } from "../lib/api";
import { groups, type Session } from "../lib/auth";
import { Boot, Shell } from "../lib/shell";
import { Account } from "./Account";
import { Customer } from "./Customer";
import { Provider } from "./Provider";
import type { Auth } from "../lib/auth";
import type { WebConfig } from "../lib/config";

function ChooseRole(props: { session: Session; auth: Auth; cfg: WebConfig; onSession: (s: Session) => void }) {
  const [error, setError] = useState("");
  async function take(role: "customer" | "provider") {
    try {
      const api = makeApi(props.cfg.apiUrl, async () => props.session.idToken);
      ok(await api.POST("/me/roles", { body: { role } }));
      props.onSession(await props.auth.refresh(props.session));
    } catch (e) {
      setError((e as Error).message);
    }
  }
  return (
    <section class="card">
      <h2>Welcome to Summon. How will you use it?</h2>
      <button type="button" onClick={() => void take("customer")}>I need services</button>
      <button type="button" onClick={() => void take("provider")}>I provide services</button>
      {error && <p class="error" role="alert">{error}</p>}
    </section>
  );
}

function Home(props: { session: Session; setSession: (s: Session) => void; auth: Auth; cfg: WebConfig }) {
  const g = groups(props.session);
  const roles = [g.includes("customers") && "customer", g.includes("providers") && "provider"].filter(Boolean) as ("customer" | "provider")[];
  const [chosen, setRole] = useState<"customer" | "provider">();
  // The account screen stays mounted once opened (an export under way keeps its state), and
  // so does the role's screen behind it.
  const [view, setView] = useState<"role" | "account">("role");
  const [accountOpened, setAccountOpened] = useState(false);
  const role = chosen && roles.includes(chosen) ? chosen : roles[0];
  const tab = (on: boolean, label: string, go: () => void) => (
    <button type="button" class={on ? "tab on" : "tab"} aria-pressed={on} onClick={go}>
      {label}
    </button>
  );
  const nav = (
    <nav>
      {roles.length
        ? roles.map((r) =>
            tab(view === "role" && r === role, r === "customer" ? "I need" : "I provide", () => {
              setRole(r);
              setView("role");
            }),
          )
        : tab(view === "role", "Get started", () => setView("role"))}
      {tab(view === "account", "Account", () => {
        setAccountOpened(true);
        setView("account");
      })}
    </nav>
  );
  return (
    // A new set of roles is a new session (a refreshed token): the shell starts again with it.
    <Shell {...props} key={roles.join()} title="Summon" nav={nav}>
      <div hidden={view !== "role"}>
        {!role ? (
          <ChooseRole session={props.session} auth={props.auth} cfg={props.cfg} onSession={props.setSession} />
        ) : role === "customer" ? (
          <Customer />
        ) : (
          <Provider />
        )}
      </div>
      {accountOpened && (
        <div hidden={view !== "account"}>
          <Account />
        </div>
      )}
    </Shell>
  );
}

render(<Boot title="Summon">{(s) => <Home {...s} />}</Boot>, document.getElementById("root")!);
