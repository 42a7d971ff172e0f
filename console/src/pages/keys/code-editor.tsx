/**
 * A plain-text code editor for JSON documents (key policies): a monospace textarea beside a gutter
 * of line numbers, the line of a syntax error marked. No editor library: Cloudscape's CodeEditor
 * needs the ace editor (ace.js alone is 479 KB minified) whose JSON checking runs in a worker from
 * a blob: URL, which the console's CSP refuses; a policy needs only lines a person can count. The text is a textarea's value, so what a user typed is never rendered as HTML.
 */
import { useRef } from "react";
import "./code-editor.css";

export interface CodeEditorProps {
  value: string;
  onChange(value: string): void;
  /** The textarea's name when no FormField label names it (a label named by controlId takes precedence). */
  ariaLabel?: string;
  /** The id FormField gives its control (so its label names this textarea). */
  controlId?: string;
  /** The 1-based line to mark as wrong. */
  errorLine?: number;
  /** Rows shown before the editor scrolls (40 at most). */
  maxRows?: number;
}

export function CodeEditor({ value, onChange, ariaLabel, controlId, errorLine, maxRows = 40 }: CodeEditorProps) {
  const gutter = useRef<HTMLDivElement>(null);
  const lines = value.split("\n").length;
  return (
    <div className={errorLine === undefined ? "kh-code-editor" : "kh-code-editor kh-code-editor-invalid"} data-testid="code-editor">
      <div className="kh-code-gutter" ref={gutter} aria-hidden="true">
        {Array.from({ length: lines }, (_, i) => (
          <div key={i} className={i + 1 === errorLine ? "kh-code-number kh-code-number-error" : "kh-code-number"}>
            {i + 1}
          </div>
        ))}
      </div>
      <textarea
        id={controlId}
        className="kh-code-text"
        value={value}
        rows={Math.min(maxRows, lines + 1)}
        spellCheck={false}
        autoCapitalize="off"
        autoComplete="off"
        autoCorrect="off"
        wrap="off"
        aria-label={controlId === undefined ? ariaLabel : undefined}
        aria-invalid={errorLine !== undefined}
        onChange={(e) => onChange(e.target.value)}
        onScroll={(e) => {
          if (gutter.current) gutter.current.scrollTop = e.currentTarget.scrollTop;
        }}
      />
    </div>
  );
}
