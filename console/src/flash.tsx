/** Messages at the top of every page (Cloudscape Flashbar): a key created, a call refused. */
import { createContext, useContext } from "react";
import type { FlashbarProps } from "@cloudscape-design/components/flashbar";
import { describeError } from "./aws";

export interface Notify {
  success(content: string): void;
  error(error: unknown, header?: string): void;
}

export const FlashContext = createContext<Notify>({ success() {}, error() {} });

export function useNotify(): Notify {
  return useContext(FlashContext);
}

let next = 0;

export function flashItem(
  type: "success" | "error",
  header: string,
  content: string,
  dismiss: (id: string) => void,
): FlashbarProps.MessageDefinition {
  const id = `flash-${++next}`;
  return { id, type, header, content, dismissible: true, dismissLabel: "Dismiss", onDismiss: () => dismiss(id) };
}

export function errorFlash(error: unknown, header: string | undefined, dismiss: (id: string) => void): FlashbarProps.MessageDefinition {
  const { code, message } = describeError(error);
  return flashItem("error", header ?? code, header ? `${code}: ${message}` : message, dismiss);
}
