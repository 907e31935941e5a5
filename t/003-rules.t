# Unit tests of libtraffic's rules module (t/unit/test-rules.c, TAP).
use strict;
use warnings;
use lib 't/lib';
use TrafficTest;

unit('test-rules');
