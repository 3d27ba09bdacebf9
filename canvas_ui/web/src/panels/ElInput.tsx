// A growing text field for property values. With `el` on, typing `${` or `:` inside an
// expression opens a list of Expression Language functions (filtered as you type, with
// their descriptions); Up/Down choose, Tab or Enter inserts, Escape closes.
import { useEffect, useLayoutEffect, useRef, useState } from "react";
import {
  completionContext, insertFunction, loadFunctions, matchFunctions, signature, type CompletionContext, type ElFunction,
} from "./el";

interface Props {
  value: string;
  onChange: (value: string) => void;
  el?: boolean;
  id?: string;
  testId?: string;
  placeholder?: string;
  invalid?: boolean;
  ariaLabel?: string;
}

export function ElInput({ value, onChange, el = false, id, testId, placeholder, invalid, ariaLabel }: Props) {
  const ref = useRef<HTMLTextAreaElement>(null);
  const [functions, setFunctions] = useState<ElFunction[]>([]);
  const [ctx, setCtx] = useState<CompletionContext | null>(null);
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
  const open = ctx !== null && matches.length > 0;

  const refresh = (text: string, caret: number) => {
    if (!el) return;
    const next = completionContext(text, caret);
    setCtx(next);
    setActive(0);
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
        onBlur={() => window.setTimeout(() => setCtx(null), 120)}
        onKeyDown={(e) => {
          if (!open) {
            if (e.key === " " && e.ctrlKey && el) { // Ctrl-Space: ask for the list explicitly
              e.preventDefault();
              refresh(value, e.currentTarget.selectionStart);
            }
            return;
          }
          if (e.key === "ArrowDown") { e.preventDefault(); setActive((a) => (a + 1) % matches.length); }
          else if (e.key === "ArrowUp") { e.preventDefault(); setActive((a) => (a - 1 + matches.length) % matches.length); }
          else if (e.key === "Enter" || e.key === "Tab") { e.preventDefault(); choose(matches[Math.min(active, matches.length - 1)]); }
          else if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); setCtx(null); }
        }}
        onKeyUp={(e) => {
          if (e.key === "ArrowLeft" || e.key === "ArrowRight" || e.key === "Home" || e.key === "End") {
            refresh(value, e.currentTarget.selectionStart);
          }
        }}
      />
      {open ? (
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
