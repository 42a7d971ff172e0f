/**
 * CloudTrail event history: the account's audit trail with the console's filters (event name, user
 * name, resource name, read-only, time range), each event's record as JSON in an expandable view,
 * refused calls highlighted with their error code. The filtering is console/src/data/event-history:
 * LookupEvents takes one attribute, the other filters are applied to what it returns.
 */
import { useCallback, useEffect, useState } from "react";
import { CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import Box from "@cloudscape-design/components/box";
import Button from "@cloudscape-design/components/button";
import ColumnLayout from "@cloudscape-design/components/column-layout";
import Container from "@cloudscape-design/components/container";
import ExpandableSection from "@cloudscape-design/components/expandable-section";
import FormField from "@cloudscape-design/components/form-field";
import Header from "@cloudscape-design/components/header";
import Input from "@cloudscape-design/components/input";
import Select, { type SelectProps } from "@cloudscape-design/components/select";
import SpaceBetween from "@cloudscape-design/components/space-between";
import StatusIndicator from "@cloudscape-design/components/status-indicator";
import Table from "@cloudscape-design/components/table";
import { useClient } from "../../aws";
import { ErrorAlert } from "../../errors";
import { routeQuery } from "../../router";
import type { PageProps } from "..";
import { eventHistory, type EventFilters, type HistoryEvent } from "../../data/event-history";

const READ_ONLY: SelectProps.Option[] = [
  { value: "any", label: "Read and write events" },
  { value: "true", label: "Read-only events" },
  { value: "false", label: "Write events" },
];
const RANGES: SelectProps.Option[] = [
  { value: "any", label: "Any time" },
  { value: "1h", label: "Last hour" },
  { value: "24h", label: "Last 24 hours" },
  { value: "7d", label: "Last 7 days" },
  { value: "custom", label: "Between (UTC)…" },
];
const RANGE_MS: Record<string, number> = { "1h": 3_600_000, "24h": 86_400_000, "7d": 7 * 86_400_000 };

interface Form {
  eventName: string;
  userName: string;
  resourceName: string;
  readOnly: string;
  range: string;
  start: string;
  end: string;
}

/** The form's time range, or the reason it is not one. */
function timeRange(form: Form): { startTime?: Date; endTime?: Date } | string {
  if (form.range === "any") return {};
  if (form.range !== "custom") return { startTime: new Date(Date.now() - RANGE_MS[form.range]!) };
  const parse = (text: string, what: string): Date | string | undefined => {
    if (text.trim() === "") return undefined;
    const d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(text.trim()) ? text.trim() : `${text.trim()}Z`);
    return Number.isNaN(d.getTime()) ? `The ${what} time is not a date and time such as 2026-12-07T09:00.` : d;
  };
  const startTime = parse(form.start, "start");
  const endTime = parse(form.end, "end");
  if (typeof startTime === "string") return startTime;
  if (typeof endTime === "string") return endTime;
  return { startTime, endTime };
}

function filtersOf(form: Form): EventFilters | string {
  const range = timeRange(form);
  if (typeof range === "string") return range;
  return {
    eventName: form.eventName,
    userName: form.userName,
    resourceName: form.resourceName,
    readOnly: form.readOnly === "any" ? undefined : form.readOnly === "true",
    ...range,
  };
}

export default function EventHistory({ path }: PageProps) {
  const cloudTrail = useClient(CloudTrailClient);
  const query = routeQuery(path);
  // A link may carry filters (#/events?resourceName=arn:…), as the key page's links do.
  const initial: Form = {
    eventName: query.get("eventName") ?? "",
    userName: query.get("userName") ?? "",
    resourceName: query.get("resourceName") ?? "",
    readOnly: "any",
    range: "any",
    start: "",
    end: "",
  };
  const [form, setForm] = useState<Form>(initial);
  const [applied, setApplied] = useState<EventFilters>(() => filtersOf(initial) as EventFilters);
  const [events, setEvents] = useState<HistoryEvent[] | undefined>(undefined);
  const [nextToken, setNextToken] = useState<string | undefined>(undefined);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [formError, setFormError] = useState<string | undefined>(undefined);

  const load = useCallback(
    async (filters: EventFilters, token: string | undefined, live: () => boolean) => {
      setLoading(true);
      setError(undefined);
      try {
        const page = await eventHistory({ cloudTrail }, filters, { nextToken: token });
        if (!live()) return;
        setEvents((before) => (token ? [...(before ?? []), ...page.events] : page.events));
        setNextToken(page.nextToken);
      } catch (e) {
        if (live()) setError(e);
      } finally {
        if (live()) setLoading(false);
      }
    },
    [cloudTrail],
  );

  useEffect(() => {
    let live = true;
    setEvents(undefined);
    void load(applied, undefined, () => live);
    return () => {
      live = false;
    };
  }, [applied, load]);

  const set = (field: keyof Form) => (value: string) => setForm((f) => ({ ...f, [field]: value }));
  const apply = () => {
    const filters = filtersOf(form);
    if (typeof filters === "string") return setFormError(filters);
    setFormError(undefined);
    setApplied({ ...filters });
  };
  const option = (options: SelectProps.Option[], value: string) => options.find((o) => o.value === value) ?? options[0]!;

  return (
    <SpaceBetween size="l">
      <Header variant="h1" description="Management events recorded in this account and region, newest first.">
        Event history
      </Header>
      <Container header={<Header variant="h2">Filters</Header>}>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            apply();
          }}
        >
          <SpaceBetween size="m">
            <ColumnLayout columns={3}>
              <FormField label="Event name">
                <Input
                  value={form.eventName}
                  placeholder="Encrypt"
                  onChange={({ detail }) => set("eventName")(detail.value)}
                  ariaLabel="Event name"
                />
              </FormField>
              <FormField label="User name">
                <Input
                  value={form.userName}
                  placeholder="root, alice"
                  onChange={({ detail }) => set("userName")(detail.value)}
                  ariaLabel="User name"
                />
              </FormField>
              <FormField label="Resource name">
                <Input
                  value={form.resourceName}
                  placeholder="arn:aws:kms:…:key/…"
                  onChange={({ detail }) => set("resourceName")(detail.value)}
                  ariaLabel="Resource name"
                />
              </FormField>
              <FormField label="Read-only">
                <Select
                  selectedOption={option(READ_ONLY, form.readOnly)}
                  options={READ_ONLY}
                  onChange={({ detail }) => set("readOnly")(detail.selectedOption.value ?? "any")}
                  ariaLabel="Read-only"
                />
              </FormField>
              <FormField label="Time range">
                <Select
                  selectedOption={option(RANGES, form.range)}
                  options={RANGES}
                  onChange={({ detail }) => set("range")(detail.selectedOption.value ?? "any")}
                  ariaLabel="Time range"
                />
              </FormField>
              {form.range === "custom" && (
                <SpaceBetween size="xs" direction="horizontal">
                  <FormField label="From (UTC)">
                    <Input
                      value={form.start}
                      placeholder="2026-12-07T09:00"
                      onChange={({ detail }) => set("start")(detail.value)}
                      ariaLabel="From"
                    />
                  </FormField>
                  <FormField label="To (UTC)">
                    <Input
                      value={form.end}
                      placeholder="2026-12-07T18:00"
                      onChange={({ detail }) => set("end")(detail.value)}
                      ariaLabel="To"
                    />
                  </FormField>
                </SpaceBetween>
              )}
            </ColumnLayout>
            {formError && <StatusIndicator type="error">{formError}</StatusIndicator>}
            <SpaceBetween size="xs" direction="horizontal">
              <Button variant="primary" formAction="submit">
                Apply filters
              </Button>
              <Button
                formAction="none"
                onClick={() => {
                  const cleared = { ...initial, eventName: "", userName: "", resourceName: "" };
                  setForm(cleared);
                  setFormError(undefined);
                  setApplied({});
                }}
              >
                Clear filters
              </Button>
            </SpaceBetween>
          </SpaceBetween>
        </form>
      </Container>
      <ErrorAlert error={error} />
      <Table<HistoryEvent>
        data-testid="events-table"
        variant="container"
        loading={events === undefined && !error}
        loadingText="Loading events"
        items={events ?? []}
        trackBy="eventId"
        wrapLines
        empty="No events match the filters."
        header={
          <Header
            variant="h2"
            counter={events ? `(${events.length}${nextToken ? "+" : ""})` : undefined}
            actions={<Button iconName="refresh" ariaLabel="Refresh events" onClick={() => setApplied((a) => ({ ...a }))} />}
          >
            Events
          </Header>
        }
        footer={
          nextToken && (
            <Box textAlign="center">
              <Button loading={loading} onClick={() => void load(applied, nextToken, () => true)}>
                Load more events
              </Button>
            </Box>
          )
        }
        columnDefinitions={[
          {
            id: "time",
            header: "Event time",
            cell: (e) =>
              e.eventTime
                ?.toISOString()
                .replace("T", " ")
                .replace(/\.\d+Z$/, " UTC") ?? "-",
          },
          {
            id: "name",
            header: "Event name",
            cell: (e) =>
              e.errorCode ? (
                <Box color="text-status-error" fontWeight="bold" data-testid="event-error">
                  {e.eventName}
                </Box>
              ) : (
                e.eventName
              ),
          },
          { id: "user", header: "User name", cell: (e) => e.userName || "-" },
          { id: "source", header: "Event source", cell: (e) => e.eventSource },
          { id: "resources", header: "Resources", cell: (e) => e.resources.map((r) => r.name).join(", ") || "-" },
          {
            id: "error",
            header: "Error code",
            minWidth: 200,
            cell: (e) =>
              e.errorCode ? (
                <StatusIndicator type="error" wrapText={false}>
                  {e.errorCode}
                </StatusIndicator>
              ) : (
                "-"
              ),
          },
          {
            id: "record",
            header: "Event record",
            minWidth: 420,
            cell: (e) => <EventRecord record={e.cloudTrailEvent} />,
          },
        ]}
      />
    </SpaceBetween>
  );
}

/** The record as JSON, rendered only once expanded (a page holds up to 50 and more on "Load more"). */
function EventRecord({ record }: { record: string }) {
  const [expanded, setExpanded] = useState(false);
  return (
    <ExpandableSection headerText="View event" variant="footer" expanded={expanded} onChange={({ detail }) => setExpanded(detail.expanded)}>
      {expanded && (
        <Box variant="code">
          <pre
            style={{ margin: 0, maxHeight: 420, overflow: "auto", whiteSpace: "pre-wrap", wordBreak: "break-all" }}
            data-testid="event-json"
          >
            {pretty(record)}
          </pre>
        </Box>
      )}
    </ExpandableSection>
  );
}

function pretty(record: string): string {
  try {
    return JSON.stringify(JSON.parse(record), null, 2);
  } catch {
    return record;
  }
}
