//! RabbitMQ transport. STUB: the AMQP helper replaces this file.
