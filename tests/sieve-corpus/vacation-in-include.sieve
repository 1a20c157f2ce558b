require "include";
include "away";
