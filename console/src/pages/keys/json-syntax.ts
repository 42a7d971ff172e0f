/**
 * Where a JSON text first goes wrong, as a line and column a person can find in the editor.
 * Browsers' JSON.parse messages differ (and some give only a character offset), so the text that
 * JSON.parse refuses is scanned here, once, by a small iterative reader of RFC 8259's grammar: no
 * recursion, so a deeply nested document cannot exhaust the stack. Nothing is built; only the
 * first error's place and a plain reason are reported.
 */

export interface JsonSyntaxError {
  /** 1-based line of the error. */
  line: number;
  /** 1-based column (in UTF-16 code units, as the textarea counts). */
  column: number;
  /** 0-based offset into the text. */
  offset: number;
  message: string;
}

const WS = new Set([" ", "\t", "\n", "\r"]);
const ESCAPES = new Set(['"', "\\", "/", "b", "f", "n", "r", "t"]);

class Stop {
  constructor(
    readonly offset: number,
    readonly message: string,
  ) {}
}

function locate(text: string, offset: number, message: string): JsonSyntaxError {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === "\n") {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1, offset, message };
}

/** Undefined when `text` is valid JSON, else the first error with its line and column. */
export function jsonSyntaxError(text: string): JsonSyntaxError | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (engine) {
    try {
      scan(text);
    } catch (e) {
      if (e instanceof Stop) return locate(text, e.offset, e.message);
      throw e;
    }
    // The engine refused what this reader accepts (it should not happen): its own words, placed at the start.
    return locate(text, 0, (engine as Error).message);
  }
}

function scan(text: string): void {
  const stack: ("object" | "array")[] = [];
  let i = 0;
  const end = text.length;
  const skip = () => {
    while (i < end && WS.has(text[i]!)) i++;
  };
  const near = () => (i >= end ? "Unexpected end of the text" : `Unexpected character ${JSON.stringify(text[i])}`);

  const readString = () => {
    const start = i;
    i++; // the opening quote
    for (;;) {
      if (i >= end) throw new Stop(start, "Unterminated string");
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) throw new Stop(i, c === 0x0a ? "Unterminated string (a line break inside a string)" : "Control character in a string");
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) throw new Stop(i, "Bad \\u escape in a string");
          i += 6;
        } else if (e !== undefined && ESCAPES.has(e)) i += 2;
        else throw new Stop(i, "Bad escape in a string");
        continue;
      }
      i++;
    }
  };

  const readNumber = () => {
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m || m[0] === "-") throw new Stop(i, "Bad number");
    i += m[0].length;
    if (i < end && /[0-9.eE]/.test(text[i]!)) throw new Stop(i, "Bad number");
  };

  // The states of the reader: a value is expected, a property name is expected, or a value has just ended.
  let state: "value" | "key" | "after" = "value";
  for (;;) {
    skip();
    if (state === "value") {
      const c = text[i];
      if (c === "{") {
        i++;
        skip();
        if (text[i] === "}") {
          i++;
          state = "after";
        } else {
          stack.push("object");
          state = "key";
        }
      } else if (c === "[") {
        i++;
        skip();
        if (text[i] === "]") {
          i++;
          state = "after";
        } else stack.push("array");
      } else if (c === '"') {
        readString();
        state = "after";
      } else if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) {
        readNumber();
        state = "after";
      } else if (c === "t" || c === "f" || c === "n") {
        const word = c === "t" ? "true" : c === "f" ? "false" : "null";
        if (text.slice(i, i + word.length) !== word) throw new Stop(i, `${near()}: expected a value`);
        i += word.length;
        state = "after";
      } else throw new Stop(i, `${near()}: expected a value`);
    } else if (state === "key") {
      if (text[i] !== '"') throw new Stop(i, `${near()}: expected a property name in double quotes`);
      readString();
      skip();
      if (text[i] !== ":") throw new Stop(i, `${near()}: expected ':' after a property name`);
      i++;
      state = "value";
    } else {
      const top = stack[stack.length - 1];
      if (top === undefined) {
        if (i < end) throw new Stop(i, `${near()} after the end of the JSON value`);
        return;
      }
      const c = text[i];
      if (c === ",") {
        i++;
        state = top === "object" ? "key" : "value";
      } else if ((top === "object" && c === "}") || (top === "array" && c === "]")) {
        i++;
        stack.pop();
      } else throw new Stop(i, `${near()}: expected ',' or '${top === "object" ? "}" : "]"}'`);
    }
  }
}
