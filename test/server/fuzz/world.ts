// What the fixture holds: filled in the test file's beforeAll (and added to as operations make policies
// and jobs), read by the arbitraries when their operation's test runs.

export const world = {
  users: [] as string[],
  items: [] as string[],
  latents: 0,
  concepts: [] as string[],
  /** Policies other cases may read and edit (never deleted). */
  policies: [] as { id: number; name: string }[],
  /** Policies made to be deleted. */
  throwawayPolicies: [] as number[],
  /** Jobs of the template (succeeded). */
  templateJobs: [] as number[],
  /** Queued (the runner is off: they stay queued) and cancelled jobs made for cancel and delete. */
  queuedJobs: [] as number[],
  cancelledJobs: [] as number[],
  /** Copies of template versions (sharing their artifacts) made to be deleted or activated. */
  recommenderClones: [] as number[],
  fullClones: [] as number[],
};
