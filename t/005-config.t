# Unit tests of libtraffic's config module (t/unit/test-config.c, TAP).
use strict;
use warnings;
use lib 't/lib';
use TrafficTest;

unit('test-config');
