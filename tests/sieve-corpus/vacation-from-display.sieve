require "vacation";
vacation :from "Me Myself <me@example.com>" :subject "Away" text:
I am away.
Back soon.
.
;
