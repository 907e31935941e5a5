# Unit tests of libtraffic's body module (t/unit/test-body.c, TAP).
use strict;
use warnings;
use lib 't/lib';
use TrafficTest;

unit('test-body');
