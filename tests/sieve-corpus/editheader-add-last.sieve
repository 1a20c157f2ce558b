require "editheader";
addheader :last "X-Last" "end";
addheader "X-First" "start";
