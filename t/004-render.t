# Unit tests of libtraffic's render module (t/unit/test-render.c, TAP).
use strict;
use warnings;
use lib 't/lib';
use TrafficTest;

unit('test-render');
