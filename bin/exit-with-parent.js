// Preloaded (node --import) into each job process a pipeline or worker spawns. The parent holds an IPC channel to
// the job; when the parent dies (kill -9, a lost machine) the channel closes and the job stops at once, so it never
// goes on writing into a job folder that another worker is about to resume. The channel is unref'd: it must not
// keep a finished job alive.
if (process.send) {
  process.channel?.unref();
  process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));
}
