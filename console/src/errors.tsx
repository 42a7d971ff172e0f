/** Refusals and failures, shown with AWS's own words: the error code and its message. */
import { Component, type ReactNode } from "react";
import Alert from "@cloudscape-design/components/alert";
import { describeError } from "./aws";

export function ErrorAlert({ error, header }: { error: unknown; header?: string }) {
  if (error === undefined || error === null) return null;
  const { code, message } = describeError(error);
  return (
    <Alert type="error" header={header ?? code} data-testid="error-alert">
      {header ? `${code}: ${message}` : message}
    </Alert>
  );
}

/** A page that throws while rendering shows what went wrong instead of a blank screen. */
export class ErrorBoundary extends Component<{ children: ReactNode; resetKey: string }, { error: unknown }> {
  override state: { error: unknown } = { error: undefined };

  static getDerivedStateFromError(error: unknown) {
    return { error };
  }

  override componentDidUpdate(previous: { resetKey: string }) {
    if (previous.resetKey !== this.props.resetKey && this.state.error !== undefined) this.setState({ error: undefined });
  }

  override render() {
    if (this.state.error !== undefined) return <ErrorAlert error={this.state.error} header="This page failed" />;
    return this.props.children;
  }
}
