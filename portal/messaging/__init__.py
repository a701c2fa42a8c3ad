"""Messages to users (messages applicatifs, mes messages), the contact form and the mail outbox."""
