import { EPOLL_EVENT, POLLFD } from '../src';
import { generateCCheck, runCCheck } from '@tsvmm/ffi';

describe('ABI definitions match the installed kernel headers (compiled with cc)', () => {
  it('epoll_event and pollfd', () => {
    const check = generateCCheck({ headers: ['sys/epoll.h', 'poll.h'], layouts: [EPOLL_EVENT, POLLFD], ioctls: [] });
    expect(runCCheck(check)).toEqual(check.expected);
  });
});
