# A one-node Slurm for the end-to-end tests, sourced by tests/e2e/slurm.sh (and usable by hand:
# `source tests/e2e/slurm_lib.sh; slurm_up /tmp/slurm; ...; slurm_down`). Installs Debian's
# slurm-wlm and munge when missing, writes slurm.conf under $SLURM_DIR (SLURM_CONF points at it,
# so /etc/slurm is untouched), starts munged, slurmctld and slurmd as root and remembers their
# pids; slurm_down stops exactly those pids.

slurm_install() {
  if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    echo "installing slurm-wlm and munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq slurm-wlm munge >/dev/null
  fi
}

# slurm_up DIR [PARTITION]: a running one-node cluster with SLURM_CONF exported.
slurm_up() {
  SLURM_DIR=$1
  local part=${2:-debug}
  mkdir -p "$SLURM_DIR"/{state,spool,log}
  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc)
  # RealMemory as slurmd itself measures it (MiB), so the node registers without a mismatch.
  mem=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
  cat > "$SLURM_DIR/slurm.conf" <<CONF
ClusterName=atelier-ci
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
StateSaveLocation=$SLURM_DIR/state
SlurmdSpoolDir=$SLURM_DIR/spool
SlurmctldPidFile=$SLURM_DIR/slurmctld.pid
SlurmdPidFile=$SLURM_DIR/slurmd.pid
SlurmctldLogFile=$SLURM_DIR/log/slurmctld.log
SlurmdLogFile=$SLURM_DIR/log/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
MinJobAge=600
KillWait=30
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=$part Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF=$SLURM_DIR/slurm.conf
  mkdir -p /run/munge
  chown munge:munge /run/munge 2>/dev/null || true
  # A munged already serving the socket is used as it is (and left running at the end).
  if [ ! -S /run/munge/munge.socket.2 ] || ! munge -n >/dev/null 2>&1; then
    runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/atelier-munged.pid \
      || /usr/sbin/munged --force --pid-file=/run/munge/atelier-munged.pid
    cp /run/munge/atelier-munged.pid "$SLURM_DIR/munged.pid"
  fi
  /usr/sbin/slurmctld -f "$SLURM_CONF"
  /usr/sbin/slurmd -f "$SLURM_CONF"
  local i
  for i in $(seq 1 60); do
    if sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
      echo "slurm up after ${i}s: $(sinfo -h -o '%P %D %T %c')"
      return 0
    fi
    sleep 1
  done
  echo "slurm did not come up; logs:" >&2
  tail -n 30 "$SLURM_DIR"/log/*.log >&2
  return 1
}

# Stop the daemons this script started, by the pids they wrote.
slurm_down() {
  local f pid ids
  # Cancel this cluster's jobs first, so no slurmstepd outlives its slurmd.
  ids=$(squeue -h -o %i 2>/dev/null || true)
  if [ -n "$ids" ]; then
    scancel $ids 2>/dev/null || true
    for _ in $(seq 1 40); do [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.5; done
  fi
  for f in slurmd slurmctld munged; do
    pid=$(cat "$SLURM_DIR/$f.pid" 2>/dev/null) || continue
    kill "$pid" 2>/dev/null || true
  done
  for f in slurmd slurmctld munged; do
    pid=$(cat "$SLURM_DIR/$f.pid" 2>/dev/null) || continue
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  done
}
