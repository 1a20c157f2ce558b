require "vacation-seconds";
vacation :seconds 3600 "Back soon.";
