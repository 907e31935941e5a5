# Unit tests of libtraffic's shared counters and the admin pages' text
# helpers (t/unit/test-metrics.c, TAP).
use strict;
use warnings;
use lib 't/lib';
use TrafficTest;

unit('test-metrics');
