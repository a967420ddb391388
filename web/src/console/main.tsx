import { render } from "preact";
import "../lib/ui.css";
import { Boot, Shell } from "../lib/shell";
import { Console } from "./Console";

render(
  <Boot title="Summon console" allowSignUp={false}>
    {(s) => (
      <Shell {...s} title="Summon console">
        <Console />
      </Shell>
    )}
  </Boot>,
  document.getElementById("root")!,
);
