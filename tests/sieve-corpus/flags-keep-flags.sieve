require "imap4flags";
keep :flags ["\\Answered", "b", "a", "A"];
