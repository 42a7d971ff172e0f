/** Loads data for a page: the value, the refusal, and a way to load again; a stale answer is dropped. */
import { useCallback, useEffect, useState, type DependencyList } from "react";

export interface Loaded<T> {
  value: T | undefined;
  error: unknown;
  loading: boolean;
  reload(): void;
}

export function useLoad<T>(load: () => Promise<T>, deps: DependencyList): Loaded<T> {
  const [value, setValue] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [loading, setLoading] = useState(true);
  const [count, setCount] = useState(0);
  useEffect(() => {
    let live = true;
    setLoading(true);
    setError(undefined);
    load()
      .then((v) => {
        if (live) setValue(v);
      })
      .catch((e: unknown) => {
        if (live) setError(e);
      })
      .finally(() => {
        if (live) setLoading(false);
      });
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, count]);
  const reload = useCallback(() => setCount((n) => n + 1), []);
  return { value, error, loading, reload };
}

/** Formats a date as the console shows dates: UTC, to the second. */
export function when(d: Date | undefined): string {
  return d
    ? d
        .toISOString()
        .replace("T", " ")
        .replace(/\.\d+Z$/, " UTC")
    : "-";
}
