'use strict';
// Preloaded (node -r) into a CLI process: kcmp(2) fails with EPERM from here on, as under a
// container's default seccomp profile without CAP_SYS_PTRACE.
const { EPERM, SYS_KCMP } = require('@tsvmm/linux-sys');
require('@tsvmm/linux-sys/testing').denySyscalls([SYS_KCMP], EPERM);
