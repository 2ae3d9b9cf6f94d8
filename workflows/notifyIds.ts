/** The delivery workflow of an event: one per event id (clients import this without the workflow SDK). */
export function notificationWorkflowId(eventId: string): string {
  return `notify:${eventId}`;
}
