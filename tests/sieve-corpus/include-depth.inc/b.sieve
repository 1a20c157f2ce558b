require "include";
include "c";
