// A growing text field for property values. With `el` on, typing `${` or `:` inside an
// expression opens a list of Expression Language functions (filtered as you type, with
// their descriptions); typing `#{` (any property) opens the parameters in scope, the
// parameter context bound to the component's group. Up/Down choose, Tab or Enter
// inserts, Escape closes.
import { useEffect, useLayoutEffect, useRef, useState } from "react";
import type { Parameter } from "../api";
import {
  completionContext, insertFunction, insertParameter, loadFunctions, matchFunctions, matchParameters, parameterContext,
  signature, type CompletionContext, type ElFunction,
} from "./el";

/** The parameters a `#{` may name: those of the context bound to the component's group. */
export interface ParameterScope {
  /** The context's name, or null when the group has none bound. */
  context: string | null;
  parameters: Parameter[];
}

interface Props {
  value: string;
  onChange: (value: string) => void;
  el?: boolean;
  id?: string;
  testId?: string;
  placeholder?: string;
  invalid?: boolean;
  ariaLabel?: string;
  /** What `#{` offers (nothing when absent). */
  parameters?: ParameterScope;
}

export function ElInput({ value, onChange, el = false, id, testId, placeholder, invalid, ariaLabel, parameters }: Props) {
  const ref = useRef<HTMLTextAreaElement>(null);
  const [functions, setFunctions] = useState<ElFunction[]>([]);
  const [ctx, setCtx] = useState<CompletionContext | null>(null);
  const [pctx, setPctx] = useState<{ start: number; prefix: string } | null>(null);
  const [active, setActive] = useState(0);
  const pendingCaret = useRef<number | null>(null);

  useEffect(() => {
    if (el) loadFunctions().then(setFunctions).catch(() => undefined);
  }, [el]);

  // Grow with the content (one line at least, about ten at most, then scroll).
  useLayoutEffect(() => {
    const area = ref.current;
    if (!area) return;
    area.style.height = "auto";
    area.style.height = `${Math.min(area.scrollHeight + 2, 220)}px`;
    if (pendingCaret.current !== null) {
      area.setSelectionRange(pendingCaret.current, pendingCaret.current);
      pendingCaret.current = null;
    }
  }, [value]);

  const matches = ctx ? matchFunctions(functions, ctx) : [];
  // Sensitive parameters belong in sensitive properties (masked fields, not this one).
  const offered = parameters ? parameters.parameters.filter((p) => !p.sensitive) : [];
  const paramMatches = pctx ? matchParameters(offered, pctx.prefix) : [];
  const paramsOpen = pctx !== null && parameters !== undefined;
  const count = paramsOpen ? paramMatches.length : matches.length;
  const open = paramsOpen ? paramMatches.length > 0 : ctx !== null && matches.length > 0;

  const refresh = (text: string, caret: number) => {
    const param = parameters ? parameterContext(text, caret) : null;
    setPctx(param);
    setCtx(el && !param ? completionContext(text, caret) : null);
    setActive(0);
  };

  const chooseParameter = (name: string) => {
    const area = ref.current;
    if (!area || !pctx) return;
    const result = insertParameter(value, area.selectionStart, pctx.start, name);
    pendingCaret.current = result.caret;
    setPctx(null);
    onChange(result.text);
    area.focus();
  };

  const choose = (f: ElFunction) => {
    const area = ref.current;
    if (!area || !ctx) return;
    const result = insertFunction(value, area.selectionStart, ctx, f);
    pendingCaret.current = result.caret;
    setCtx(null);
    onChange(result.text);
    area.focus();
  };

  useEffect(() => {
    // Keep the list, and its highlighted item, in view (the field may sit at the panel's bottom edge).
    const list = ref.current?.parentElement?.querySelector(".pn-el-list");
    list?.scrollIntoView({ block: "nearest" });
    list?.querySelector(".active")?.scrollIntoView({ block: "nearest" });
  }, [active, open]);

  return (
    <div className="pn-el">
      <textarea
        ref={ref} id={id} data-testid={testId} rows={1} value={value} placeholder={placeholder} spellCheck={false}
        aria-label={ariaLabel} aria-invalid={invalid || undefined} aria-autocomplete={el ? "list" : undefined}
        aria-expanded={el ? open : undefined}
        className={`pn-input mono${invalid ? " invalid" : ""}`}
        onChange={(e) => {
          onChange(e.target.value);
          refresh(e.target.value, e.target.selectionStart);
        }}
        onClick={(e) => refresh(value, e.currentTarget.selectionStart)}
        onBlur={() => window.setTimeout(() => { setCtx(null); setPctx(null); }, 120)}
        onKeyDown={(e) => {
          if (!open) {
            if (e.key === " " && e.ctrlKey && (el || parameters)) { // Ctrl-Space: ask for the list explicitly
              e.preventDefault();
              refresh(value, e.currentTarget.selectionStart);
            }
            if (e.key === "Escape" && paramsOpen) { e.preventDefault(); e.stopPropagation(); setPctx(null); }
            return;
          }
          if (e.key === "ArrowDown") { e.preventDefault(); setActive((a) => (a + 1) % count); }
          else if (e.key === "ArrowUp") { e.preventDefault(); setActive((a) => (a - 1 + count) % count); }
          else if (e.key === "Enter" || e.key === "Tab") {
            e.preventDefault();
            if (paramsOpen) chooseParameter(paramMatches[Math.min(active, count - 1)].name);
            else choose(matches[Math.min(active, count - 1)]);
          } else if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); setCtx(null); setPctx(null); }
        }}
        onKeyUp={(e) => {
          if (e.key === "ArrowLeft" || e.key === "ArrowRight" || e.key === "Home" || e.key === "End") {
            refresh(value, e.currentTarget.selectionStart);
          }
        }}
      />
      {paramsOpen ? (
        <ul className="pn-el-list" role="listbox" data-testid="param-suggestions">
          {paramMatches.map((p, i) => (
            <li key={p.name} role="option" aria-selected={i === active} className={i === active ? "active" : ""}
                data-testid={`param-suggestion-${p.name}`}
                onMouseDown={(e) => { e.preventDefault(); chooseParameter(p.name); }} onMouseEnter={() => setActive(i)}>
              <div className="pn-el-sig">
                <span className="mono">#{"{"}{p.name}{"}"}</span>
                <span className="pn-el-ret">{p.value ?? ""}</span>
              </div>
              {p.description ? <div className="pn-el-desc">{p.description}</div> : null}
            </li>
          ))}
          {!paramMatches.length ? (
            <li className="pn-el-empty" aria-disabled="true" data-testid="param-suggestions-none">
              {parameters?.context === null
                ? "No parameter context is bound to this group (Configure the group to bind one)."
                : offered.length ? `No parameter of ${parameters?.context} starts with “${pctx?.prefix ?? ""}”.`
                  : `${parameters?.context} has no parameters${parameters?.parameters.length ? " usable here (only sensitive ones)" : ""}.`}
            </li>
          ) : null}
        </ul>
      ) : null}
      {open && !paramsOpen ? (
        <ul className="pn-el-list" role="listbox" data-testid="el-suggestions">
          {matches.map((f, i) => (
            <li key={f.name} role="option" aria-selected={i === active} className={i === active ? "active" : ""}
                data-testid={`el-suggestion-${f.name}`}
                onMouseDown={(e) => { e.preventDefault(); choose(f); }} onMouseEnter={() => setActive(i)}>
              <div className="pn-el-sig">
                <span className="mono">{signature(f)}</span>
                {f.returns ? <span className="pn-el-ret">→ {f.returns}</span> : null}
              </div>
              <div className="pn-el-desc">{f.description}</div>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
