// UpdateAttribute's Advanced rules (NiFi's "Advanced" dialog), edited as a list: the FlowFile
// Policy, then each rule with its name, conditions (boolean expressions, all must hold) and
// actions (attribute = value). The rules are the processor's `advanced-rules` property, stored
// as JSON; NiFi's <criteria> annotation XML in that property is read too (and written back as
// JSON once edited). The validation errors of the property are shown above the rules.
import { Field, Notice } from "./ui";

/** The property holding the rules (UpdateAttribute's spec key). */
export const RULES_KEY = "advanced-rules";

export interface RuleAction { attribute: string; value: string }
export interface Rule { name: string; conditions: string[]; actions: RuleAction[] }
export interface Criteria { flowFilePolicy: "USE_CLONE" | "USE_ORIGINAL"; rules: Rule[] }

const EMPTY: Criteria = { flowFilePolicy: "USE_CLONE", rules: [] };

function fromXml(text: string): Criteria {
  const doc = new DOMParser().parseFromString(text, "application/xml");
  if (doc.querySelector("parsererror") || doc.documentElement.nodeName !== "criteria") {
    throw new Error("not NiFi's <criteria> XML");
  }
  const childText = (el: Element, tag: string) =>
    Array.from(el.children).find((c) => c.nodeName === tag)?.textContent ?? "";
  const children = (el: Element, tag: string) => Array.from(el.children).filter((c) => c.nodeName === tag);
  const policy = childText(doc.documentElement, "flowFilePolicy") === "USE_ORIGINAL" ? "USE_ORIGINAL" : "USE_CLONE";
  return {
    flowFilePolicy: policy,
    rules: children(doc.documentElement, "rules").map((r) => ({
      name: childText(r, "name"),
      conditions: children(r, "conditions").map((c) => childText(c, "expression")),
      actions: children(r, "actions").map((a) => ({ attribute: childText(a, "attribute"), value: childText(a, "value") })),
    })),
  };
}

/** The rules in a property value; throws for text that is neither form. */
export function parseCriteria(text: string | null): Criteria {
  const trimmed = (text ?? "").trim();
  if (!trimmed) return EMPTY;
  if (trimmed.startsWith("<")) return fromXml(trimmed);
  const raw = JSON.parse(trimmed) as Partial<Criteria> & { rules?: unknown };
  const rules = Array.isArray(raw.rules) ? raw.rules : [];
  return {
    flowFilePolicy: raw.flowFilePolicy === "USE_ORIGINAL" ? "USE_ORIGINAL" : "USE_CLONE",
    rules: rules.map((r: { name?: unknown; conditions?: unknown; actions?: unknown }) => ({
      name: typeof r.name === "string" ? r.name : "",
      conditions: Array.isArray(r.conditions) ? r.conditions.map(String) : [],
      actions: Array.isArray(r.actions)
        ? r.actions.map((a: { attribute?: unknown; value?: unknown }) => ({ attribute: String(a.attribute ?? ""), value: String(a.value ?? "") }))
        : Object.entries((r.actions ?? {}) as Record<string, unknown>).map(([attribute, value]) => ({ attribute, value: String(value) })),
    })),
  };
}

/** The property value for `criteria`: null (unset) when there are no rules and the default policy. */
export function serializeCriteria(criteria: Criteria): string | null {
  if (!criteria.rules.length && criteria.flowFilePolicy === "USE_CLONE") return null;
  return JSON.stringify(criteria);
}

function newRuleName(rules: Rule[]): string {
  for (let n = rules.length + 1; ; n++) {
    const name = `rule${n}`;
    if (!rules.some((r) => r.name === name)) return name;
  }
}

export function RulesEditor({ value, onChange, errors }: {
  value: string | null; onChange: (value: string | null) => void; errors: string[];
}) {
  let criteria: Criteria;
  try {
    criteria = parseCriteria(value);
  } catch (exc) {
    return (
      <div className="pn-form" data-testid="rules-editor">
        <Notice level="error" testId="rules-unreadable">
          The Advanced Rules property cannot be read as rules ({exc instanceof Error ? exc.message : String(exc)}).
          Correct it in the Properties tab, or start again with no rules.
        </Notice>
        <button type="button" data-testid="rules-reset" onClick={() => onChange(null)}>Start again</button>
      </div>
    );
  }
  const update = (next: Criteria) => onChange(serializeCriteria(next));
  const setRule = (i: number, rule: Rule) => update({ ...criteria, rules: criteria.rules.map((r, j) => (j === i ? rule : r)) });
  const move = (i: number, by: number) => {
    const rules = [...criteria.rules];
    const [rule] = rules.splice(i, 1);
    rules.splice(i + by, 0, rule);
    update({ ...criteria, rules });
  };

  return (
    <div className="pn-form" data-testid="rules-editor">
      <p className="pn-help">
        Rules set attributes only for the flowfiles that meet all of their conditions; a rule's value beats the
        property of the same attribute. With <b>Use clone</b> each matching rule gets its own flowfile; with
        <b> Use original</b> every matching rule applies to the one flowfile, in order, the later rule winning.
        The last matching rule is named in <span className="mono">UpdateAttribute.matchedRule</span>.
      </p>
      {errors.length ? (
        <div className="pn-field-error" data-testid="rules-errors" role="alert">
          {errors.map((e) => <div key={e}>{e}</div>)}
        </div>
      ) : null}
      <Field label="FlowFile policy" htmlFor="rules-policy">
        <select id="rules-policy" data-testid="rules-policy" className="pn-input" value={criteria.flowFilePolicy}
                onChange={(e) => update({ ...criteria, flowFilePolicy: e.target.value as Criteria["flowFilePolicy"] })}>
          <option value="USE_CLONE">Use clone (one flowfile per matching rule)</option>
          <option value="USE_ORIGINAL">Use original (all matching rules on one flowfile)</option>
        </select>
      </Field>
      <ul className="pn-cards">
        {criteria.rules.map((rule, i) => (
          <li key={i} className="pn-card" data-testid={`rule-${i}`}>
            <div className="pn-row">
              <input className="pn-input grow" data-testid={`rule-name-${i}`} aria-label={`Name of rule ${i + 1}`}
                     placeholder="Rule name" value={rule.name} onChange={(e) => setRule(i, { ...rule, name: e.target.value })} />
              <button type="button" className="pn-small" data-testid={`rule-up-${i}`} disabled={i === 0}
                      title="Move up (earlier rules apply first)" onClick={() => move(i, -1)}>↑</button>
              <button type="button" className="pn-small" data-testid={`rule-down-${i}`} disabled={i === criteria.rules.length - 1}
                      title="Move down" onClick={() => move(i, 1)}>↓</button>
              <button type="button" className="pn-link danger" data-testid={`rule-remove-${i}`}
                      onClick={() => update({ ...criteria, rules: criteria.rules.filter((_, j) => j !== i) })}>Remove rule</button>
            </div>
            <div className="pn-help">Conditions (all must be true), e.g. <span className="mono">{"${filename:endsWith('.csv')}"}</span></div>
            {rule.conditions.map((condition, c) => (
              <div className="pn-row tight" key={c}>
                <input className="pn-input grow mono" data-testid={`rule-condition-${i}-${c}`} aria-label={`Condition ${c + 1} of rule ${i + 1}`}
                       placeholder="${attribute:equals('value')}" value={condition}
                       onChange={(e) => setRule(i, { ...rule, conditions: rule.conditions.map((x, k) => (k === c ? e.target.value : x)) })} />
                <button type="button" className="pn-link danger" data-testid={`rule-condition-remove-${i}-${c}`}
                        onClick={() => setRule(i, { ...rule, conditions: rule.conditions.filter((_, k) => k !== c) })}>Remove</button>
              </div>
            ))}
            <div>
              <button type="button" className="pn-small" data-testid={`rule-condition-add-${i}`}
                      onClick={() => setRule(i, { ...rule, conditions: [...rule.conditions, ""] })}>Add condition</button>
            </div>
            <div className="pn-help">Actions: the attribute to set and its value (Expression Language allowed)</div>
            {rule.actions.map((action, a) => (
              <div className="pn-row tight" key={a}>
                <input className="pn-input mono" style={{ flex: "0 0 35%" }} data-testid={`rule-action-attribute-${i}-${a}`}
                       aria-label={`Attribute of action ${a + 1} of rule ${i + 1}`} placeholder="attribute" value={action.attribute}
                       onChange={(e) => setRule(i, { ...rule, actions: rule.actions.map((x, k) => (k === a ? { ...x, attribute: e.target.value } : x)) })} />
                <input className="pn-input grow mono" data-testid={`rule-action-value-${i}-${a}`}
                       aria-label={`Value of action ${a + 1} of rule ${i + 1}`} placeholder="value" value={action.value}
                       onChange={(e) => setRule(i, { ...rule, actions: rule.actions.map((x, k) => (k === a ? { ...x, value: e.target.value } : x)) })} />
                <button type="button" className="pn-link danger" data-testid={`rule-action-remove-${i}-${a}`}
                        onClick={() => setRule(i, { ...rule, actions: rule.actions.filter((_, k) => k !== a) })}>Remove</button>
              </div>
            ))}
            <div>
              <button type="button" className="pn-small" data-testid={`rule-action-add-${i}`}
                      onClick={() => setRule(i, { ...rule, actions: [...rule.actions, { attribute: "", value: "" }] })}>Add action</button>
            </div>
          </li>
        ))}
      </ul>
      {criteria.rules.length === 0 ? <p className="pn-help" data-testid="rules-none">No rules: only the properties apply.</p> : null}
      <div>
        <button type="button" data-testid="rule-add"
                onClick={() => update({ ...criteria, rules: [...criteria.rules, { name: newRuleName(criteria.rules), conditions: [""], actions: [{ attribute: "", value: "" }] }] })}>
          Add rule
        </button>
      </div>
    </div>
  );
}
