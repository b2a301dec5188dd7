import type { Multiplexer } from './types.js';

/** socketcall(2) sub-call numbers (include/uapi/linux/net.h SYS_*). */
export const SOCKETCALL: Multiplexer = {
  syscall: 'socketcall',
  calls: {
    socket: 1,
    bind: 2,
    connect: 3,
    listen: 4,
    accept: 5,
    getsockname: 6,
    getpeername: 7,
    socketpair: 8,
    send: 9,
    recv: 10,
    sendto: 11,
    recvfrom: 12,
    shutdown: 13,
    setsockopt: 14,
    getsockopt: 15,
    sendmsg: 16,
    recvmsg: 17,
    accept4: 18,
    recvmmsg: 19,
    sendmmsg: 20,
  },
};

/** ipc(2) sub-call numbers (include/uapi/linux/ipc.h SEMOP...SHMCTL). */
export const IPC: Multiplexer = {
  syscall: 'ipc',
  calls: {
    semop: 1,
    semget: 2,
    semctl: 3,
    semtimedop: 4,
    msgsnd: 11,
    msgrcv: 12,
    msgget: 13,
    msgctl: 14,
    shmat: 21,
    shmdt: 22,
    shmget: 23,
    shmctl: 24,
  },
};
