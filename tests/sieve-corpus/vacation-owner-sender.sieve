require "vacation";
vacation "Away.";
