require "include";
include "e";
