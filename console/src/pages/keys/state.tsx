import StatusIndicator, { type StatusIndicatorProps } from "@cloudscape-design/components/status-indicator";

const TYPES: Record<string, StatusIndicatorProps.Type> = {
  Enabled: "success",
  Disabled: "stopped",
  PendingDeletion: "warning",
  PendingImport: "pending",
  PendingReplicaDeletion: "warning",
  Unavailable: "error",
  Creating: "in-progress",
  Updating: "in-progress",
};

export function KeyStateIndicator({ state }: { state: string }) {
  return (
    <StatusIndicator type={TYPES[state] ?? "info"} data-testid="key-state">
      {state}
    </StatusIndicator>
  );
}
